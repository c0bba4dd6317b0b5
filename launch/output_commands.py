"""``spinn report DIR`` and ``spinn plot DIR``: a run's output directory as
tables and pictures, also for a run that was killed or interrupted.

An output directory (``setup(output=...)``, ``spinn run --output``, default
``spinn_output/<script>/<timestamp>``) holds ``run.json`` (populations, what
they record, how far the run got), one recording file per rank and segment,
and ``provenance.json`` once the run ended (``end()``). ``report`` prints the
provenance; without it (a partial run) what the recordings show.
``plot`` (matplotlib: ``pip install spinn-snn[plot]``) writes PNGs: the spike
raster coloured by population over a rate histogram, membrane traces, time
per phase per rank, and keys sent between ranks.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from launch.arguments import EXIT_USAGE

__all__ = ["register"]


def register(subparsers) -> None:
    report = subparsers.add_parser(
        "report", help="print a run's provenance (and recordings) as tables",
        description="Print the provenance of the run whose output is in DIR: time per phase, "
                    "busy time and traffic per rank, spikes and events, advice.")
    report.add_argument("directory", metavar="DIR", help="the run's output directory")
    report.set_defaults(handler=_report)
    plot = subparsers.add_parser(
        "plot", help="draw a run's raster, traces, load balance and traffic as PNGs",
        description="Write PNGs of the run whose output is in DIR: raster.png (spikes by "
                    "population over a rate histogram), traces.png (membrane potentials), "
                    "phases.png (time per phase per rank), keys.png (keys sent between ranks).")
    plot.add_argument("directory", metavar="DIR", help="the run's output directory")
    plot.add_argument("--out", metavar="DIR", help="where to write the PNGs (default: DIR)")
    plot.set_defaults(handler=_plot)


def _load(directory: Path):
    run_file, prov_file = directory / "run.json", directory / "provenance.json"
    if not run_file.exists():
        raise FileNotFoundError(f"{directory}: not a spinn output directory (no run.json)")
    meta = json.loads(run_file.read_text())
    prov = json.loads(prov_file.read_text()) if prov_file.exists() else None
    return meta, prov


def _open(options: argparse.Namespace):
    """``(directory, run.json, provenance.json or None)``; meta None (and one
    line said) when DIR is not an output directory."""
    directory = Path(options.directory)
    try:
        meta, prov = _load(directory)
    except (FileNotFoundError, ValueError) as error:
        print(f"spinn: {error}", file=sys.stderr)
        return directory, None, None
    return directory, meta, prov


def _table(headers, rows) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "  ".join(c.rjust(w) if i else c.ljust(w)   # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)]
                     + [line(r) for r in cells[1:]])


def _report(options: argparse.Namespace) -> int:
    directory, meta, prov = _open(options)
    if meta is None:
        return EXIT_USAGE
    from spinn.io import read_raw
    raw = read_raw(directory, int(meta.get("segment", 0)))
    gids = raw["spikes"][0]
    t_s = meta["t_ms"] / 1000.0
    print(f"run: {directory}  t = {meta['t_ms']:g} ms, dt = {meta['dt_ms']:g} ms, "
          f"{meta['n_ranks']} rank(s), segment {meta.get('segment', 0)}"
          + ("" if prov else "  (no provenance.json: the run did not reach end())"))
    rows = []
    for p in meta["populations"]:
        lo, hi = p["first_gid"], p["first_gid"] + p["size"]
        n = int(((gids >= lo) & (gids < hi)).sum())
        recorded = sum(b - a for a, b in p["record"].get("spikes", {}).get("runs", []))
        rate = n / recorded / t_s if recorded and t_s else float("nan")
        rows.append([p["label"], p["model"], p["size"], ", ".join(sorted(p["record"])) or "-",
                     f"{n:,}", f"{rate:.2f}" if rate == rate else "-"])
    print()
    print(_table(["population", "model", "size", "recorded", "spikes recorded",
                  "rate (Hz)"], rows))
    if prov is None:
        return 0
    print()
    print(_table(["run", "value"], [
        ["wall time (s)", f"{prov['simulate_wall_s']:.3f}"],
        ["steps per second", f"{prov['steps_per_s']:,.0f}"],
        ["real-time factor", f"{prov['realtime_factor']:.3f}"],
        ["neuron spikes", f"{prov['neuron_spikes']:,}"],
        ["source events", f"{prov['source_events']:,}"],
        ["synaptic events", f"{prov['synaptic_events']:,}"],
        ["largest input in a step", f"{prov['max_input']:.4g}"],
        ["load imbalance", f"{prov['imbalance']:.3f}"],
        ["map / build (s)", f"{prov['map_s']:.3f} / {prov['build_s']:.3f}"],
        ["peak memory per process (MiB)",
         ", ".join(f"{m:.0f}" for m in prov["peak_rss_mib_by_process"])],
    ]))
    print()
    print(_table(["rank", "neurons", "synapses", "busy (s)", "route (s)", "record (s)",
                  "spikes", "keys sent", "keys received", "events"],
                 [[r["rank"], f"{r['neurons']:,}", f"{r['synapses']:,}", f"{r['busy_s']:.3f}",
                   f"{r['route_s']:.3f}", f"{r['record_s']:.3f}", f"{r['spikes']:,}",
                   f"{sum(r['keys_sent'].values()):,}", f"{r['keys_received']:,}",
                   f"{r['synaptic_events']:,}"] for r in prov["by_rank"]]))
    print()
    phases = prov["slowest_phases_s"]
    print(_table([f"phase (slowest rank {prov['slowest_rank']})", "s", "%"],
                 [[k, f"{v:.3f}", f"{100 * prov['phase_share'][k]:.1f}"]
                  for k, v in phases.items()]))
    for tip in prov["advice"]:
        print(f"advice: {tip}")
    return 0


def _plot(options: argparse.Namespace) -> int:
    directory, meta, prov = _open(options)
    if meta is None:
        return EXIT_USAGE
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("spinn: plot needs matplotlib: pip install spinn-snn[plot]", file=sys.stderr)
        return EXIT_USAGE
    import numpy as np
    from spinn.io import read_raw
    out = Path(options.out or directory)
    out.mkdir(parents=True, exist_ok=True)
    raw = read_raw(directory, int(meta.get("segment", 0)))
    dt, t_ms = meta["dt_ms"], meta["t_ms"]
    written = []
    # raster and rate histogram
    gids, stamps = raw["spikes"]
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    bins = np.linspace(0.0, max(t_ms, dt), min(200, max(10, int(t_ms / dt))) + 1)
    for i, p in enumerate(meta["populations"]):
        lo, hi = p["first_gid"], p["first_gid"] + p["size"]
        mine = (gids >= lo) & (gids < hi)
        if not mine.any():
            continue
        t = stamps[mine] * dt
        colour = colours[i % len(colours)]
        ax.scatter(t, gids[mine], s=1.5, color=colour, label=p["label"], linewidths=0)
        recorded = max(1, sum(b - a for a, b in p["record"].get("spikes", {}).get("runs", [])))
        counts, _ = np.histogram(t, bins)
        hist.step(bins[:-1], counts / recorded / (np.diff(bins) / 1000.0), where="post",
                  color=colour)
    ax.set_ylabel("neuron (global id)")
    ax.set_xlim(0, max(t_ms, dt))
    if ax.has_data():
        ax.legend(loc="upper right", markerscale=6, fontsize="small")
    hist.set_xlabel("time (ms)")
    hist.set_ylabel("rate (Hz)")
    fig.tight_layout()
    fig.savefig(out / "raster.png", dpi=100)
    plt.close(fig)
    written.append("raster.png")
    # membrane traces
    traces = [(p, key) for p in meta["populations"] for key in raw
              if isinstance(key, tuple) and key[0] == p["id"] and key[1] == "v"]
    if traces:
        fig, axes = plt.subplots(len(traces), 1, figsize=(10, 2.5 * len(traces)), squeeze=False)
        for ax, (p, key) in zip(axes[:, 0], traces):
            g, s, v = raw[key]
            for cell in np.unique(g)[:10]:
                mine = g == cell
                order = np.argsort(s[mine])
                ax.plot(s[mine][order] * dt, v[mine][order], lw=0.8)
            ax.set_title(f"{p['label']}: v of up to 10 cells", fontsize="small")
            ax.set_ylabel("v (mV)")
        axes[-1, 0].set_xlabel("time (ms)")
        fig.tight_layout()
        fig.savefig(out / "traces.png", dpi=100)
        plt.close(fig)
        written.append("traces.png")
    if prov is not None:
        ranks = prov["by_rank"]
        fig, ax = plt.subplots(figsize=(8, 4))
        x = np.arange(len(ranks))
        route = np.array([r["route_s"] for r in ranks])
        record = np.array([r["record_s"] for r in ranks])
        busy = np.array([r["busy_s"] for r in ranks])
        other = np.maximum(busy - route - record, 0.0)
        ax.bar(x, other, label="update + deliver")
        ax.bar(x, route, bottom=other, label="route")
        ax.bar(x, record, bottom=other + route, label="record")
        ax.set_xticks(x)
        ax.set_xlabel("rank")
        ax.set_ylabel("busy time (s)")
        ax.set_title(f"load imbalance {prov['imbalance']:.2f}")
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(out / "phases.png", dpi=100)
        plt.close(fig)
        written.append("phases.png")
        n = prov["ranks"]
        keys = np.zeros((n, n))
        for r in ranks:
            for dest, count in r["keys_sent"].items():
                keys[r["rank"], int(dest)] = count
        fig, ax = plt.subplots(figsize=(5, 4))
        image = ax.imshow(keys, cmap="viridis")
        ax.set_xlabel("to rank")
        ax.set_ylabel("from rank")
        ax.set_title("keys sent")
        fig.colorbar(image, ax=ax)
        fig.tight_layout()
        fig.savefig(out / "keys.png", dpi=100)
        plt.close(fig)
        written.append("keys.png")
    print(f"spinn: wrote {', '.join(written)} in {out}")
    return 0
