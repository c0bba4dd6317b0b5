"""Soak: a 50,000-neuron network with STDP for a minute of biological time,
checkpointing every 10 s, peak RSS per rank logged at each checkpoint.

    spinn run -n 2 benchmarks/soak.py --dir /tmp/soak            # 0 -> 60 s
    python benchmarks/soak.py --dir /tmp/soak --restore 30000    # 30 s -> 60 s on 1 rank

Network: 40,000 excitatory and 10,000 inhibitory IF_curr_exp cells, each with
20 plastic excitatory inputs (additive pair STDP, 1.5 ms delay, half axonal),
10 static inhibitory inputs and an independent Poisson drive (fused). Spikes
of 1,000 cells are recorded. At the end rank 0 prints a JSON line: the RSS
curve, checkpoint sizes and times, and a digest of the recorded spikes and of
every plastic weight (equal digests: identical runs).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import resource
import time
from pathlib import Path

import numpy as np

import spinn as sim
from spinn.pynn.simulator import state


def build(n: int):
    sim.setup(timestep=0.1, quiet=True, rng_seed=11)
    n_exc, n_inh = int(0.8 * n), n - int(0.8 * n)
    cell = sim.IF_curr_exp(tau_m=20.0, cm=0.25, tau_refrac=2.0, v_thresh=-50.0,
                           v_reset=-60.0, v_rest=-65.0, tau_syn_E=5.0, tau_syn_I=5.0)
    exc = sim.Population(n_exc, cell, label="exc",
                         initial_values={"v": sim.RandomDistribution("uniform", (-65, -50))})
    inh = sim.Population(n_inh, cell, label="inh",
                         initial_values={"v": sim.RandomDistribution("uniform", (-65, -50))})
    for pop in (exc, inh):
        drive = sim.Population(pop.size, sim.SpikeSourcePoisson(rate=300.0),
                               label=f"drive-{pop.label}")
        sim.Projection(drive, pop, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=0.12, delay=0.1), receptor_type="excitatory")
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                            A_plus=0.005, A_minus=0.006),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.3),
        weight=0.1, delay=1.5, dendritic_delay_fraction=0.5)
    plastic = [sim.Projection(exc, post, sim.FixedNumberPreConnector(20), stdp,
                              receptor_type="excitatory", label=f"exc-{post.label}")
               for post in (exc, inh)]
    for post in (exc, inh):
        sim.Projection(inh, post, sim.FixedNumberPreConnector(10),
                       sim.StaticSynapse(weight=-0.4, delay=1.0), receptor_type="inhibitory")
    exc[0:800].record("spikes")
    inh[0:200].record("spikes")
    return (exc, inh), plastic


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=50_000)
    ap.add_argument("--tstop", type=float, default=60_000.0)
    ap.add_argument("--every", type=float, default=10_000.0)
    ap.add_argument("--dir", default="/tmp/spinn_soak")
    ap.add_argument("--restore", type=float, default=None,
                    help="continue from the checkpoint written at this time (ms)")
    args = ap.parse_args()
    pops, plastic = build(args.neurons)
    curve, checkpoints = [], []
    t0 = time.perf_counter()
    if args.restore is not None:
        sim.restore_checkpoint(Path(args.dir) / f"t{int(args.restore)}ms")
    sim.run(0.0)
    while sim.get_current_time() < args.tstop - 1e-9:
        sim.run(min(args.every, args.tstop - sim.get_current_time()))
        now = sim.get_current_time()
        rss = [float(x) for x in state.simulation.exchange.allgather(rss_mib())]
        if args.restore is None:
            t1 = time.perf_counter()
            path = sim.save_checkpoint(Path(args.dir) / f"t{int(round(now))}ms")
            manifest = json.loads((Path(path) / "manifest.json").read_text())
            checkpoints.append({"t_ms": now, "write_s": time.perf_counter() - t1,
                                "bytes": sum(f["bytes"] for f in manifest["files"])})
        curve.append({"t_ms": now, "wall_s": time.perf_counter() - t0, "rss_mib": rss})
        if sim.rank() == 0:
            print(json.dumps(curve[-1]), flush=True)
    digest = hashlib.sha256()
    for pop in pops:
        for st in pop.get_data("spikes").segments[0].spiketrains:
            digest.update(np.asarray(st.magnitude, dtype=np.float64).tobytes())
    weights = hashlib.sha256()
    for prj in plastic:
        w = np.asarray(prj.get("weight", format="list"), dtype=np.float64)
        weights.update(w[np.lexsort((w[:, 1], w[:, 0]))].tobytes())
    stats = sim.get_run_statistics()
    peak = state.simulation.exchange.allgather(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    sim.end()
    if sim.rank() == 0:
        print(json.dumps({"ranks": sim.num_processes(), "restored_from_ms": args.restore,
                          "spikes_digest": digest.hexdigest(), "weights_digest": weights.hexdigest(),
                          "neuron_spikes": stats["neuron_spikes"],
                          "mean_rate_hz": stats["mean_rate_hz"], "synapses": stats["synapses"],
                          "curve": curve, "checkpoints": checkpoints, "peak_rss_mib": peak}))


if __name__ == "__main__":
    main()
