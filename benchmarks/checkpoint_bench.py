"""Checkpoint size, write and restore time (Brunel 12.5k, or with STDP).

    python benchmarks/checkpoint_bench.py [--stdp] [--dir DIR]
    spinn run -n 2 benchmarks/checkpoint_bench.py
    (restore on another rank count: --restore-only with the same --dir)

Runs ``--tstop`` ms, writes a checkpoint, then (in the same processes, after
``setup()`` again and rebuilding the network) restores it and runs
``--after`` ms more; prints the checkpoint's size and the times. ``--stdp``
makes the excitatory-to-excitatory synapses plastic (their weights and traces
are then part of the state).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import networks  # noqa: E402

import spinn as sim  # noqa: E402


def build(args):
    sim.setup(timestep=0.1, quiet=True)
    if not args.stdp:
        return networks.brunel(sim, scale=args.scale)
    b = networks.BRUNEL
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.001,
                                            A_minus=0.0012),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.2),
        weight=b["j"], delay=b["delay"])
    return networks.brunel(sim, scale=args.scale, exc_exc=stdp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--stdp", action="store_true")
    ap.add_argument("--tstop", type=float, default=100.0)
    ap.add_argument("--after", type=float, default=10.0)
    ap.add_argument("--dir", default="/tmp/spinn_checkpoint_bench")
    ap.add_argument("--restore-only", action="store_true")
    args = ap.parse_args()
    out = {"ranks": None, "stdp": args.stdp}
    if not args.restore_only:
        build(args)
        sim.run(args.tstop)
        t0 = time.perf_counter()
        sim.save_checkpoint(args.dir)
        out["write_s"] = time.perf_counter() - t0
        out["ranks"] = sim.num_processes()
        sim.end()
    build(args)
    t0 = time.perf_counter()
    sim.restore_checkpoint(args.dir)
    out["restore_s"] = time.perf_counter() - t0        # includes mapping and building
    sim.run(0.0)
    out["restore_ranks"] = sim.num_processes()
    t0 = time.perf_counter()
    sim.run(args.after)
    out["after_s"] = time.perf_counter() - t0
    manifest = json.loads((Path(args.dir) / "manifest.json").read_text())
    out["bytes"] = sum(f["bytes"] for f in manifest["files"])
    out["files"] = len(manifest["files"])
    stats = sim.get_run_statistics()
    out["build_s"] = stats["build_s"]
    sim.end()
    if sim.rank() == 0:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
