"""CUBA benchmark numbers: run by hand, results recorded in RESULTS.md.

    python benchmarks/cuba.py                 # 1 rank
    spinn run -n 2 benchmarks/cuba.py         # 2 ranks

Prints, for 1 s of biological time: simulate wall time, spikes, mean rate,
real-time factor; then the per-step overhead of the same network with no
spikes at all (same neurons and synapses, input removed, rest below threshold).
"""
import argparse
import time

import spinn as sim

parser = argparse.ArgumentParser()
parser.add_argument("--tstop", type=float, default=1000.0)
parser.add_argument("--npc", type=int, default=256)
args = parser.parse_args()


def build(active: bool):
    sim.setup(timestep=0.1, min_delay=0.2, quiet=True)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, args.npc)
    rng = sim.NumpyRNG(seed=98765)
    cell = sim.IF_curr_exp(tau_m=20.0, cm=0.2, v_rest=-49.0 if active else -70.0,
                           v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
                           tau_syn_E=5.0, tau_syn_I=10.0)
    v0 = sim.RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng)
    exc = sim.Population(3200, cell, initial_values={"v": v0}, label="exc")
    inh = sim.Population(800, cell, initial_values={"v": v0}, label="inh")
    cells = exc + inh
    conn = sim.FixedProbabilityConnector(0.02, rng=rng)
    sim.Projection(exc, cells, conn, sim.StaticSynapse(weight=0.0162, delay=0.2),
                   receptor_type="excitatory")
    sim.Projection(inh, cells, conn, sim.StaticSynapse(weight=-0.09, delay=0.2),
                   receptor_type="inhibitory")
    if active:
        stim = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0, duration=50.0))
        sim.Projection(stim, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                       sim.StaticSynapse(weight=0.1, delay=0.2))
    cells.record("spikes")


t0 = time.perf_counter()
build(active=True)
sim.run(args.tstop)
stats = sim.get_run_statistics()
total = time.perf_counter() - t0
sim.end()

build(active=False)
sim.run(args.tstop)
quiet = sim.get_run_statistics()
sim.end()

if sim.rank() == 0:
    print(f"CUBA 4000 neurons, {stats['synapses']:,} synapses, {stats['ranks']} rank(s), "
          f"{args.npc} neurons/core")
    print(f"  simulate wall time for {args.tstop:g} ms: {stats['simulate_wall_s']:.3f} s "
          f"(real-time factor {stats['realtime_factor']:.2f}); script total {total:.2f} s; "
          f"map {stats['map_s']:.3f} s, build {stats['build_s']:.3f} s")
    print(f"  spikes {stats['neuron_spikes']:,} (+{stats['spikes'] - stats['neuron_spikes']} "
          f"from sources), mean rate {stats['mean_rate_hz']:.2f} Hz")
    print(f"  per-step cost with no spikes: {quiet['us_per_step']:.1f} µs "
          f"({quiet['spikes']} spikes)")
    for rank, phases in enumerate(stats["phase_s_by_process"]):
        print(f"  process {rank} phases (s): " + ", ".join(
            f"{name} {seconds:.3f}" for name, seconds in phases.items()))
