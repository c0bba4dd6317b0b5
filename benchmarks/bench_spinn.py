"""One benchmark network on spinn; prints one JSON line (rank 0). Run by
benchmarks/run.py, or by hand:

    python benchmarks/bench_spinn.py brunel --tstop 1000
    mpiexec -n 2 python -m mpi4py benchmarks/bench_spinn.py brunel --tstop 1000
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import spinn as sim  # noqa: E402
from networks import NETWORKS, drive_events  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("network", choices=sorted(NETWORKS))
    parser.add_argument("--tstop", type=float, default=1000.0)
    parser.add_argument("--fuse", type=int, default=1, help="fuse one-to-one sources")
    args = parser.parse_args()
    build, options = NETWORKS[args.network]
    t0 = time.perf_counter()
    sim.setup(timestep=0.1, quiet=True, fuse_sources=bool(args.fuse))
    pops, out_degree = build(sim, **options)
    sim.run(0.0)
    steps_before = sim.get_run_statistics()["steps"]
    t1 = time.perf_counter()
    sim.run(args.tstop)
    t2 = time.perf_counter()
    spikes = [sum(len(t) for t in p.get_data("spikes").segments[0].spiketrains) for p in pops]
    stats = sim.get_run_statistics()
    sim.end()
    if sim.rank() != 0:
        return
    neurons = sum(p.size for p in pops)
    events = sum(s * k for s, k in zip(spikes, out_degree)) + drive_events(args.network,
                                                                          args.tstop)
    busy = [ph["update"] + ph["deliver"] for ph in stats["phase_s_by_process"]]
    print(json.dumps({
        "simulator": "spinn", "ranks": stats["ranks"], "network": args.network,
        "neurons": neurons, "synapses": stats["synapses"], "build_s": t1 - t0,
        "simulate_s": t2 - t1, "spikes": sum(spikes),
        "rate_hz": sum(spikes) / neurons / (args.tstop / 1000.0),
        "events_per_s": events / (t2 - t1), "busy_s": busy,
        "phases": stats["phase_s_by_process"],
        "realtime_factor": (t2 - t1) / (args.tstop / 1000.0),
        "steps": stats["steps"] - steps_before}))


if __name__ == "__main__":
    main()
