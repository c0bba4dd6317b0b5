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
    ~/peers/bin/python benchmarks/brunel.py --simulator nest   # PyNN + NEST, same network

Every rank prints one line: its synapses, its peak resident memory minus
that of an idle ``python -c "import <simulator>"`` (measured in a
subprocess), the bytes per synapse that gives, and the build time (from the
first Population to the end of ``run(0)``: NEST connects in ``Projection()``,
spinn at the first run). ``--scale`` multiplies the population sizes (the
in-degrees stay).
"""
from __future__ import annotations

import argparse
import importlib
import resource
import subprocess
import sys
import time

MODULES = {"spinn": "spinn", "nest": "pyNN.nest"}


def idle_rss_kib(module: str) -> int:
    """Peak RSS of a Python process that only imports ``module`` (KiB)."""
    out = subprocess.run([sys.executable, "-c", f"import resource, {module}; print(resource."
                          "getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--tstop", type=float, default=0.0, help="ms to simulate (0: build)")
    parser.add_argument("--npc", type=int, default=None, help="neurons per core")
    parser.add_argument("--simulator", choices=sorted(MODULES), default="spinn")
    parser.add_argument("--random-weights", action="store_true",
                        help="excitatory weights uniform in [0.05, 0.15] mV (every weight "
                             "different: 8-byte weights) instead of J = 0.1")
    args = parser.parse_args()
    module = MODULES[args.simulator]
    idle = idle_rss_kib(module)
    sim = importlib.import_module(module)
    n_exc, n_inh = int(10000 * args.scale), int(2500 * args.scale)
    c_e, c_i, j, g, delay = 1000, 250, 0.1, 5.0, 1.5
    nu_ext_khz = 20.0          # eta = 2: twice the threshold rate, C_E inputs

    t0 = time.perf_counter()
    sim.setup(timestep=0.1, quiet=True, min_delay=0.1, max_delay=10.0)
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
    projections = [sim.Projection(drive, cells, sim.OneToOneConnector(),
                                  sim.StaticSynapse(weight=j, delay=delay),
                                  receptor_type="excitatory")]
    w_exc = sim.RandomDistribution("uniform", (0.5 * j, 1.5 * j)) if args.random_weights else j
    projections.append(sim.Projection(
        exc, cells, sim.FixedNumberPreConnector(c_e, allow_self_connections=False),
        sim.StaticSynapse(weight=w_exc, delay=delay), receptor_type="excitatory"))
    projections.append(sim.Projection(
        inh, cells, sim.FixedNumberPreConnector(c_i, allow_self_connections=False),
        sim.StaticSynapse(weight=-g * j, delay=delay), receptor_type="inhibitory"))
    exc[:500].record("spikes")
    sim.run(0.0)                                   # spinn maps and builds here
    build_wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.simulator == "spinn":
        from spinn.pynn.simulator import state
        images = state.simulation.images
        synapses = sum(i.synapses.n_synapses for i in images)
        stored = f" (synapse arrays {sum(i.synapses.nbytes() for i in images) / max(synapses, 1):.1f} B/synapse)"
    else:
        import nest
        synapses, stored = int(nest.GetKernelStatus("num_connections")), ""
    used = (peak - idle) * 1024
    per = f"{used / synapses:.1f} B/synapse{stored}" if synapses else "no synapses"
    print(f"{args.simulator} rank {sim.rank()}/{sim.num_processes()}: {synapses:,} synapses, "
          f"peak RSS {peak / 1024:.0f} MiB - idle {idle / 1024:.0f} MiB = "
          f"{used / 2**20:.0f} MiB, {per}; build (create + connect) {build_wall:.2f} s",
          flush=True)
    if args.tstop > 0:
        t1 = time.perf_counter()
        sim.run(args.tstop)
        wall = time.perf_counter() - t1
        n = sum(len(t) for t in exc[:500].get_data("spikes").segments[0].spiketrains)
        phases = (sim.get_run_statistics()["phase_s_by_process"] if args.simulator == "spinn"
                  else "")
        if sim.rank() == 0:
            print(f"simulate {wall:.2f} s for {args.tstop:g} ms; rate of 500 excitatory "
                  f"cells {n / 500 / (args.tstop / 1000.0):.1f} Hz {phases}", flush=True)
    sim.end()


if __name__ == "__main__":
    main()
