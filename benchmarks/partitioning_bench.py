"""Benchmark of the partitioner: spike traffic, balance, routing tables, time, memory.

For each network and rank count it compares placements by the expected
packets per time step between ranks (and across nodes), the load imbalance
(max / mean neurons per rank), the routing entries before and after
compression, and, for the full ``map_network`` (traffic placement), the time
and peak memory. Each case runs in its own process so the peak RSS
(``resource.getrusage``) is that case's.

Placements: ``round_robin`` (slice s on rank s % n), ``contiguous`` (slices in
id order cut into equal runs), ``traffic`` (``map_network``'s default), and
``metis`` (pymetis k-way on the slice graph, 5 % imbalance allowed) when
pymetis is installed (``pip install pymetis``; never required).

    python benchmarks/partitioning_bench.py              # every case
    python benchmarks/partitioning_bench.py --quick      # skip the 100 M neuron case
    python benchmarks/partitioning_bench.py --case layered16 --ranks 8
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from partitioning import (  # noqa: E402
    Graph, Placement, build_compressed_tables, count_entries, estimate_traffic, map_network,
    place_round_robin, place_slices,
)
from partitioning.synthetic import layered_graph, sparse_graph  # noqa: E402

CASES = {
    "cuba4k": [(4, 2), (16, 4)],
    "layered16": [(4, 2), (8, 4), (32, 8)],
    "sparse100M": [(16384, 64)],
}


def cuba_graph() -> Graph:
    """CUBA (4,000 neurons: 3,200 exc, 800 inh, p = 0.02) plus 20 Poisson kick-off sources."""
    n = np.array([3200, 800, 20])
    edges = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1]])
    synapses = np.array([0.02 * 3200 * 3200, 0.02 * 3200 * 800, 0.02 * 800 * 3200,
                         0.02 * 800 * 800, 0.1 * 20 * 3200, 0.1 * 20 * 800])
    return Graph(n, np.full(3, 256), edges, ("excitatory", "inhibitory", "stimulus"),
                 synapses=synapses, rate_hz=np.array([10.0, 10.0, 100.0]),
                 bytes_per_atom=np.full(3, 200.0))


GRAPHS = {"cuba4k": cuba_graph, "layered16": layered_graph, "sparse100M": sparse_graph}


def metis_placement(graph: Graph, slices, n_ranks: int):
    """pymetis k-way on the slice graph (edge a-b: spikes per step of a, summed both ways)."""
    try:
        import pymetis
    except ImportError:
        return None
    if slices.n_slices > 20_000:
        return None  # the slice graph has |slices(u)| x |slices(w)| edges per projection
    spikes = slices.sizes() * graph.rates()[slices.vertex] * graph.dt_ms / 1000
    first = np.searchsorted(slices.vertex, np.arange(graph.n_vertices + 1))
    u, v, w = [], [], []
    for pre, post in np.unique(graph.edges, axis=0).tolist():
        a = np.arange(first[pre], first[pre + 1])
        b = np.arange(first[post], first[post + 1])
        aa, bb = np.repeat(a, b.size), np.tile(b, a.size)
        keep = aa != bb
        u.append(aa[keep]), v.append(bb[keep]), w.append(spikes[aa[keep]])
    u, v, w = np.concatenate(u), np.concatenate(v), np.concatenate(w)
    n = slices.n_slices
    code = np.concatenate([u * n + v, v * n + u])
    unique, inverse = np.unique(code, return_inverse=True)
    weight = np.bincount(inverse.ravel(), weights=np.concatenate([w, w]))
    row, col = np.divmod(unique, n)
    xadj = np.searchsorted(row, np.arange(n + 1))
    scale = 1000 / max(weight.min(), 1e-9)
    adjacency = pymetis.CSRAdjacency(xadj, col)
    options = pymetis.Options(seed=1, ufactor=50)
    _, parts = pymetis.part_graph(n_ranks, adjacency=adjacency,
                                  eweights=np.maximum(1, np.round(weight * scale)).astype(int),
                                  vweights=slices.sizes().astype(int), options=options)
    return Placement(np.array(parts), n_ranks)


def run_case(name: str, n_ranks: int, ranks_per_node: int) -> dict:
    start = time.perf_counter()
    graph = GRAPHS[name]()
    graph_s = time.perf_counter() - start
    start = time.perf_counter()
    mapping = map_network(graph, n_ranks, ranks_per_node=ranks_per_node, check=True)
    map_s = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = mapping.report()
    slices = mapping.slices
    rows = {}
    placements = {"round_robin": place_round_robin(slices, n_ranks),
                  "contiguous": place_slices(slices, n_ranks),
                  "traffic": mapping.placement}
    start = time.perf_counter()
    metis = metis_placement(graph, slices, n_ranks)
    if metis is not None:
        placements["metis"] = metis
    metis_s = time.perf_counter() - start
    keys = mapping.keys
    for label, placement in placements.items():
        traffic = estimate_traffic(graph, slices, placement, ranks_per_node=ranks_per_node)
        atoms = np.bincount(placement.rank, weights=slices.sizes(), minlength=n_ranks)
        before = int(count_entries(graph, slices, placement).sum())
        if label == "traffic":
            after = report["entries_after"]
        elif label == "round_robin" and slices.n_slices > 50_000:
            after = None  # every population on every rank: skip building those tables
        else:
            after = sum(len(t) for t in build_compressed_tables(graph, slices, placement, keys))
        rows[label] = {"packets_per_step": traffic.total, "across_nodes": traffic.across,
                       "imbalance": float(atoms.max() / atoms.mean()),
                       "entries_before": before, "entries_after": after}
    return {"case": name, "n_ranks": n_ranks, "ranks_per_node": ranks_per_node,
            "n_atoms": report["n_atoms"], "n_slices": report["n_slices"],
            "graph_s": graph_s, "map_s": map_s, "metis_s": metis_s if metis else None,
            "peak_rss_mib": peak_mib, "timing_s": mapping.timing_s, "placements": rows}


def print_result(result: dict) -> None:
    print(f"\n{result['case']}: {result['n_atoms']:,} neurons, {result['n_slices']:,} slices, "
          f"{result['n_ranks']} ranks ({result['ranks_per_node']} per node); map_network "
          f"{result['map_s']:.2f} s, peak RSS {result['peak_rss_mib']:.0f} MiB")
    stages = ", ".join(f"{k} {v:.2f}" for k, v in result["timing_s"].items())
    print(f"  stages (s): {stages}" + (f"; metis {result['metis_s']:.2f} s"
                                      if result["metis_s"] else ""))
    print(f"  {'placement':12s} {'packets/step':>13s} {'across nodes':>13s} {'imbalance':>9s} "
          f"{'entries':>9s} {'compressed':>10s}")
    for label, row in result["placements"].items():
        after = "-" if row["entries_after"] is None else f"{row['entries_after']:,}"
        print(f"  {label:12s} {row['packets_per_step']:13,.1f} {row['across_nodes']:13,.1f} "
              f"{row['imbalance']:9.3f} {row['entries_before']:9,} {after:>10s}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), help="one network only")
    parser.add_argument("--ranks", type=int, help="one rank count only (with --case)")
    parser.add_argument("--ranks-per-node", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="skip the 100 M neuron case")
    parser.add_argument("--json", help="write all results to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_case(args.case, args.ranks, args.ranks_per_node)))
        return 0
    jobs = []
    for name, configs in CASES.items():
        if (args.case and name != args.case) or (args.quick and name == "sparse100M"):
            continue
        for n_ranks, per_node in configs:
            if args.ranks and n_ranks != args.ranks:
                continue
            jobs.append((name, n_ranks, args.ranks_per_node or per_node))
    if args.case and args.ranks and not jobs:
        jobs = [(args.case, args.ranks, args.ranks_per_node or args.ranks)]
    results = []
    for name, n_ranks, per_node in jobs:
        out = subprocess.run([sys.executable, __file__, "--child", "--case", name, "--ranks",
                              str(n_ranks), "--ranks-per-node", str(per_node)],
                             capture_output=True, text=True, check=True).stdout
        results.append(json.loads(out.splitlines()[-1]))
        print_result(results[-1])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
