"""Brunel (2000) network A as a PyNN script: build cost, memory per synapse, speed.

12,500 IF_curr_delta neurons (10,000 excitatory, 2,500 inhibitory), each with
exactly C_E = 1,000 excitatory and C_I = 250 inhibitory sources
(FixedNumberPre, no self-connections), J = 0.1 mV, g = 5, delays 1.5 ms, and
an independent 20 kHz Poisson drive per neuron (12,500 sources, one to one):
15.6 million synapses. Nothing is seeded: spinn's keyed streams make the run
reproducible anyway.

    python benchmarks/brunel.py --tstop 0            # build only, 1 rank
    spinn run -n 2 benchmarks/brunel.py --tstop 0    # build only, 2 ranks
    spinn run -n 2 benchmarks/brunel.py --tstop 1000

Every rank prints one line: its synapses, its peak resident memory minus
that of an idle ``python -c "import spinn"`` (measured in a subprocess),
the bytes per synapse that gives, and the build time. ``--scale`` multiplies
the population sizes (the in-degrees stay).
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import spinn as sim


def idle_rss_kib() -> int:
    """Peak RSS of a Python process that only imports spinn (KiB)."""
    out = subprocess.run([sys.executable, "-c", "import resource, spinn; print(resource."
                          "getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--tstop", type=float, default=0.0, help="ms to simulate (0: build)")
    parser.add_argument("--npc", type=int, default=None, help="neurons per core")
    args = parser.parse_args()
    idle = idle_rss_kib()
    n_exc, n_inh = int(10000 * args.scale), int(2500 * args.scale)
    c_e, c_i, j, g, delay = 1000, 250, 0.1, 5.0, 1.5
    nu_ext_khz = 20.0          # eta = 2: twice the threshold rate, C_E inputs

    sim.setup(timestep=0.1, quiet=True)
    if args.npc:
        sim.set_number_of_neurons_per_core(sim.IF_curr_delta, args.npc)
        sim.set_number_of_neurons_per_core(sim.SpikeSourcePoisson, args.npc)
    cell = sim.IF_curr_delta(tau_m=20.0, cm=0.25, v_rest=0.0, v_reset=10.0, v_thresh=20.0,
                             tau_refrac=2.0, i_offset=0.0)
    exc = sim.Population(n_exc, cell, label="exc")
    inh = sim.Population(n_inh, cell, label="inh")
    cells = exc + inh
    cells.initialize(v=sim.RandomDistribution("uniform", (0.0, 20.0)))
    drive = sim.Population(n_exc + n_inh, sim.SpikeSourcePoisson(rate=nu_ext_khz * 1000.0),
                           label="drive")
    sim.Projection(drive, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=j, delay=delay), receptor_type="excitatory")
    sim.Projection(exc, cells, sim.FixedNumberPreConnector(c_e, allow_self_connections=False),
                   sim.StaticSynapse(weight=j, delay=delay), receptor_type="excitatory")
    sim.Projection(inh, cells, sim.FixedNumberPreConnector(c_i, allow_self_connections=False),
                   sim.StaticSynapse(weight=-g * j, delay=delay), receptor_type="inhibitory")
    exc[:500].record("spikes")
    t0 = time.perf_counter()
    sim.run(0.0)                                   # maps and builds
    build_wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    simulation = sim.state.simulation if hasattr(sim, "state") else None
    from spinn.pynn.simulator import state
    simulation = state.simulation
    synapses = sum(i.synapses.n_synapses for i in simulation.images)
    stored = sum(i.synapses.nbytes() for i in simulation.images)
    used = (peak - idle) * 1024
    print(f"rank {sim.rank()}/{sim.num_processes()}: {synapses:,} synapses, peak RSS "
          f"{peak / 1024:.0f} MiB - idle {idle / 1024:.0f} MiB = {used / 2**20:.0f} MiB, "
          f"{used / max(synapses, 1):.1f} B/synapse (synapse arrays {stored / max(synapses, 1):.1f}"
          f" B/synapse); map {simulation.map_seconds:.2f} s, build "
          f"{simulation.build_seconds:.2f} s, run(0) wall {build_wall:.2f} s", flush=True)
    if args.tstop > 0:
        sim.run(args.tstop)
        stats = sim.get_run_statistics()
        if sim.rank() == 0:
            print(f"simulate {stats['simulate_wall_s']:.2f} s for {args.tstop:g} ms; "
                  f"rate {stats['mean_rate_hz']:.1f} Hz; phases per process "
                  f"{stats['phase_s_by_process']}", flush=True)
    sim.end()


if __name__ == "__main__":
    main()
