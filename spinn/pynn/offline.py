"""Read a run's output directory without running anything again.

Every rank streams its recordings to ``segmentNNN-rankRRRRR.msgpack`` in the
output directory (:mod:`spinn.recording`); MPI rank 0 keeps ``run.json``
(the populations, what they record, the timestep, how far the run got). ::

    blocks = spinn.io.read("spinn_output/net/20261203-101500")   # {label: neo.Block}
    exc = spinn.io.read(directory, population="exc")              # one neo.Block

gives the neo Blocks ``Population.get_data()`` gives (one segment per
``reset()``), also for a run that was killed or interrupted: every file is
read up to its last complete chunk, and the segment ends at the last step
``run.json`` saw (or the last recorded step, if later).
"""
from __future__ import annotations

import json
from pathlib import Path

import neo
import numpy as np
import quantities as pq

from ..errors import SpinnError
from ..recording import read_chunks, signal_grid

__all__ = ["read", "read_raw"]

DEFAULT_UNITS = {"v": "mV", "gsyn_exc": "uS", "gsyn_inh": "uS", "isyn_exc": "nA",
                 "isyn_inh": "nA", "u": "mV/ms", "w": "nA"}


class OutputError(SpinnError, ValueError):
    """Not a readable spinn output directory."""


def _meta(directory: Path) -> dict:
    file = directory / "run.json"
    if not file.exists():
        raise OutputError(f"{directory}: not a spinn output directory (no run.json)")
    return json.loads(file.read_text())


def read_raw(directory, segment: int = 0) -> dict:
    """Everything recorded in one segment, merged over the ranks' files:
    ``{"spikes": (gids, stamps), (pop id, variable): (gids, stamps, values)}``."""
    directory = Path(directory)
    spikes, signals = [], {}
    for file in sorted(directory.glob(f"segment{segment:03d}-rank*.msgpack")):
        mine_spikes, mine_signals = [], {}
        for r in read_chunks(file):
            kind = r["kind"]
            if kind == "spikes":
                mine_spikes.append((np.frombuffer(r["gid"], np.int64),
                                    np.frombuffer(r["stamp"], np.int64)))
            elif kind == "signal":
                mine_signals.setdefault((r["pop"], r["var"]), []).append(
                    (np.frombuffer(r["gid"], np.int64), np.frombuffer(r["stamp"], np.int64),
                     np.frombuffer(r["value"], np.float64)))
            elif kind == "clear":
                mine_spikes = [(g[(g < r["lo"]) | (g >= r["hi"])],
                                t[(g < r["lo"]) | (g >= r["hi"])]) for g, t in mine_spikes]
                for key, parts in mine_signals.items():
                    if key[0] == r["pop"]:
                        mine_signals[key] = [tuple(x[p[1] >= r["stamp"]] for x in p)
                                             for p in parts]
        spikes += mine_spikes
        for key, parts in mine_signals.items():
            signals.setdefault(key, []).extend(parts)
    out = {"spikes": (np.concatenate([g for g, _ in spikes]) if spikes else np.zeros(0, np.int64),
                      np.concatenate([t for _, t in spikes]) if spikes else np.zeros(0, np.int64))}
    for key, parts in signals.items():
        out[key] = tuple(np.concatenate(x) for x in zip(*parts))
    return out


def _indices(record: dict) -> np.ndarray:
    runs = record.get("runs", [])
    return (np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in runs]) if runs
            else np.zeros(0, np.int64))


def read(directory, population: str | None = None):
    """The recorded data of a run as neo Blocks: ``{label: Block}``, or the
    Block of ``population`` (a label)."""
    directory = Path(directory)
    meta = _meta(directory)
    dt = float(meta["dt_ms"])
    pops = meta["populations"]
    if population is not None:
        pops = [p for p in pops if p["label"] == population]
        if not pops:
            raise OutputError(f"{directory}: no population labelled {population!r} "
                              f"(there are {[p['label'] for p in meta['populations']]})")
    units = meta.get("units", {})
    n_segments = int(meta.get("segment", 0)) + 1
    ends = {int(k): int(v) for k, v in meta.get("segment_steps", {}).items()}
    blocks = {p["label"]: neo.Block(name=p["label"]) for p in pops}
    for s in range(n_segments):
        raw = read_raw(directory, s)
        last = ends.get(s, int(meta["step"]) if s == n_segments - 1 else 0)
        if raw["spikes"][1].size:
            last = max(last, int(raw["spikes"][1].max()))
        t_stop = last * dt * pq.ms
        for p in pops:
            seg = neo.Segment(name=f"segment{s:03d}")
            first = int(p["first_gid"])
            record = p["record"]
            if "spikes" in record:
                idx = _indices(record["spikes"])
                gids, stamps = raw["spikes"]
                mine = (gids >= first) & (gids < first + p["size"])
                g, t = gids[mine], stamps[mine]
                order = np.lexsort((t, g))
                g, t = g[order], t[order]
                cuts = np.searchsorted(g, first + idx)
                ends_ = np.searchsorted(g, first + idx, side="right")
                for i, a, b in zip(idx.tolist(), cuts.tolist(), ends_.tolist()):
                    train = neo.SpikeTrain(t[a:b] * dt, t_start=0.0, t_stop=t_stop, units="ms",
                                           source_population=p["label"],
                                           channel_id=first + i, source_index=i)
                    train.segment = seg
                    seg.spiketrains.append(train)
            for variable, rec in sorted(record.items()):
                if variable == "spikes":
                    continue
                idx = _indices(rec)
                got = raw.get((p["id"], variable))
                if got is None or idx.size == 0:
                    continue
                interval = int(rec["interval"])
                start = int(got[1].min())
                grid = signal_grid(*got, first + idx, start, last, interval)
                unit = units.get(p["label"], {}).get(variable, DEFAULT_UNITS.get(variable,
                                                                                 "dimensionless"))
                signal = neo.AnalogSignal(grid, units=unit, t_start=start * dt * pq.ms,
                                          sampling_period=interval * dt * pq.ms, name=variable,
                                          channel_ids=first + idx,
                                          source_population=p["label"],
                                          array_annotations={"channel_index": idx})
                signal.segment = seg
                seg.analogsignals.append(signal)
            seg.block = blocks[p["label"]]
            blocks[p["label"]].segments.append(seg)
    return blocks[population] if population is not None else blocks
