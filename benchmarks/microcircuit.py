"""The Potjans & Diesmann (2014) cortical microcircuit, from the paper's tables.

Eight populations (layers 2/3, 4, 5, 6, excitatory and inhibitory) of
current-based LIF cells with exponential synaptic currents, 77,169 neurons
and ~3·10⁸ synapses at full scale, each neuron driven by its own Poisson
background (8 Hz × K_ext inputs). Written as an ordinary PyNN script for
spinn, and natively for NEST 3 (the same tables) to compare build and
simulate times on the same scale:

    python benchmarks/microcircuit.py --scale 1 --tstop 1000                 # spinn, 1 rank
    mpiexec -n 2 python -m mpi4py benchmarks/microcircuit.py --scale 1       # spinn, 2 ranks
    ~/peers/bin/python benchmarks/microcircuit.py --simulator nest --scale 1  # NEST, 1 thread

``--scale`` multiplies the neuron numbers and keeps every in-degree (NEST's
``N_scaling`` with ``K_scaling = 1``): the total number of synapses of each
projection scales with the network, so rates stay close to full scale.
Rates are counted from 100 ms (after the start transient) to the end, and
printed next to the published full-scale ones.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

NAMES = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
N_FULL = [20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948]
# connection probabilities: rows are targets, columns sources (Table 5)
CONN_PROBS = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443]])
K_EXT = [1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100]     # background inputs
BG_RATE = 8.0                       # Hz per background input
W_EXC = 0.08781                     # nA: the PSC amplitude of a 0.15 mV PSP
G = -4.0                            # inhibitory / excitatory weight
W_REL_SD = 0.1
D_EXC, D_INH, D_REL_SD = 1.5, 0.75, 0.5       # ms
BG_DELAY = 1.5
V0_MEAN, V0_SD = -58.0, 10.0
CELL = dict(cm=0.25, tau_m=10.0, tau_syn_E=0.5, tau_syn_I=0.5, tau_refrac=2.0,
            v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, i_offset=0.0)
PUBLISHED_HZ = [0.97, 2.87, 4.75, 5.40, 8.14, 9.08, 0.99, 7.52]
DT = 0.1
TRANSIENT = 100.0                   # ms left out of the rates


def sizes(scale: float) -> list[int]:
    return [max(1, int(round(n * scale))) for n in N_FULL]


def synapse_numbers(scale: float) -> np.ndarray:
    """Synapses of each (target, source) projection: the full-scale number that
    gives the connection probability with multapses (the paper's formula),
    times ``scale`` (in-degrees kept)."""
    n = np.array(N_FULL, dtype=float)
    prod = np.outer(n, n)
    with np.errstate(divide="ignore"):
        full = np.log(1.0 - CONN_PROBS) / np.log((prod - 1.0) / prod)
    return np.round(full * scale).astype(np.int64)


def weight_mean(target: int, source: int) -> float:
    w = W_EXC if source % 2 == 0 else G * W_EXC
    if target == 0 and source == 2:                 # L4E -> L2/3E doubled
        w *= 2.0
    return w


def build(sim, scale: float = 1.0, seed: int = 55):
    """The microcircuit in PyNN backend ``sim``; returns the 8 populations."""
    rng = sim.NumpyRNG(seed=seed)
    pops = []
    for name, n, k_ext in zip(NAMES, sizes(scale), K_EXT):
        pop = sim.Population(n, sim.IF_curr_exp(**CELL), label=name)
        pop.initialize(v=sim.RandomDistribution("normal", (V0_MEAN, V0_SD), rng=rng))
        background = sim.Population(n, sim.SpikeSourcePoisson(rate=BG_RATE * k_ext),
                                    label=f"background {name}")
        sim.Projection(background, pop, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=W_EXC, delay=BG_DELAY),
                       receptor_type="excitatory")
        pop.record("spikes")
        pops.append(pop)
    numbers = synapse_numbers(scale)
    for t, post in enumerate(pops):
        for s, pre in enumerate(pops):
            if numbers[t, s] == 0:
                continue
            w = weight_mean(t, s)
            excitatory = s % 2 == 0
            d = D_EXC if excitatory else D_INH
            weight = sim.RandomDistribution(
                "normal_clipped", mu=w, sigma=abs(w) * W_REL_SD,
                low=0.0 if excitatory else -math.inf, high=math.inf if excitatory else 0.0,
                rng=rng)
            delay = sim.RandomDistribution("normal_clipped", mu=d, sigma=d * D_REL_SD,
                                           low=DT, high=math.inf, rng=rng)
            sim.Projection(pre, post, sim.FixedTotalNumberConnector(int(numbers[t, s]),
                                                                    rng=rng),
                           sim.StaticSynapse(weight=weight, delay=delay),
                           receptor_type="excitatory" if excitatory else "inhibitory",
                           label=f"{pre.label}->{post.label}")
    return pops


def run_spinn(scale: float, tstop: float, seed: int) -> dict:
    import spinn as sim
    t0 = time.perf_counter()
    sim.setup(timestep=DT, quiet=True)
    pops = build(sim, scale, seed)
    sim.run(0.0)
    t1 = time.perf_counter()
    sim.run(tstop)
    t2 = time.perf_counter()
    counts = []
    for pop in pops:
        trains = pop.get_data("spikes").segments[0].spiketrains
        times = np.concatenate([t.magnitude for t in trains]) if trains else np.zeros(0)
        counts.append(int(np.count_nonzero(times >= TRANSIENT)))
    stats = sim.get_run_statistics()
    sim.end()
    return dict(simulator="spinn", ranks=stats["ranks"], synapses=stats["synapses"],
                build_s=t1 - t0, simulate_s=t2 - t1, counts=counts,
                phases=stats["phase_s_by_process"], rank=sim.rank())


def run_nest(scale: float, tstop: float, seed: int) -> dict:
    import nest
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT, "local_num_threads": 1, "rng_seed": seed})
    t0 = time.perf_counter()
    params = {"C_m": CELL["cm"] * 1000.0, "tau_m": CELL["tau_m"], "E_L": CELL["v_rest"],
              "V_th": CELL["v_thresh"], "V_reset": CELL["v_reset"], "t_ref": CELL["tau_refrac"],
              "tau_syn_ex": CELL["tau_syn_E"], "tau_syn_in": CELL["tau_syn_I"], "I_e": 0.0}
    pops, recorders = [], []
    for n, k_ext in zip(sizes(scale), K_EXT):
        pop = nest.Create("iaf_psc_exp", n, params=params)
        pop.V_m = nest.random.normal(mean=V0_MEAN, std=V0_SD)
        background = nest.Create("poisson_generator", params={"rate": BG_RATE * k_ext})
        nest.Connect(background, pop, syn_spec={"weight": W_EXC * 1000.0, "delay": BG_DELAY})
        rec = nest.Create("spike_recorder", params={"start": TRANSIENT})
        nest.Connect(pop, rec)
        pops.append(pop)
        recorders.append(rec)
    numbers = synapse_numbers(scale)
    for t, post in enumerate(pops):
        for s, pre in enumerate(pops):
            if numbers[t, s] == 0:
                continue
            w = weight_mean(t, s) * 1000.0
            d = D_EXC if s % 2 == 0 else D_INH
            weight = nest.random.normal(mean=w, std=abs(w) * W_REL_SD)
            weight = (nest.math.redraw(weight, min=0.0, max=math.inf) if w > 0
                      else nest.math.redraw(weight, min=-math.inf, max=0.0))
            delay = nest.math.redraw(nest.random.normal(mean=d, std=d * D_REL_SD),
                                     min=DT, max=math.inf)
            # one synapse model per projection: NEST 3 holds at most 2**27 - 2
            # connections per synapse model and thread (the full scale has 3·10⁸)
            model = f"static_{NAMES[s]}_{NAMES[t]}"
            nest.CopyModel("static_synapse", model)
            nest.Connect(pre, post, {"rule": "fixed_total_number", "N": int(numbers[t, s])},
                         {"synapse_model": model, "weight": weight, "delay": delay})
    nest.Simulate(DT)                # NEST completes its connection tables here
    t1 = time.perf_counter()
    nest.Simulate(tstop)
    t2 = time.perf_counter()
    return dict(simulator="nest", ranks=1, synapses=int(nest.GetKernelStatus("num_connections")),
                build_s=t1 - t0, simulate_s=t2 - t1,
                counts=[int(r.n_events) for r in recorders], rank=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulator", choices=("spinn", "nest"), default="spinn")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--tstop", type=float, default=1000.0)
    parser.add_argument("--seed", type=int, default=55)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    if args.tstop <= TRANSIENT:
        sys.exit(f"--tstop {args.tstop} ms: must be longer than the {TRANSIENT:g} ms transient")
    run = run_spinn if args.simulator == "spinn" else run_nest
    result = run(args.scale, args.tstop, args.seed)
    if result.pop("rank") != 0:
        return
    window = (args.tstop - TRANSIENT) / 1000.0
    result["rates_hz"] = [c / n / window for c, n in zip(result["counts"], sizes(args.scale))]
    result.update(scale=args.scale, tstop_ms=args.tstop, neurons=sum(sizes(args.scale)))
    print(f"{args.simulator}, {result['ranks']} rank(s), scale {args.scale:g}: "
          f"{result['neurons']:,} neurons, {result['synapses']:,} synapses (background "
          f"included); build {result['build_s']:.1f} s, simulate {args.tstop:g} ms "
          f"{result['simulate_s']:.1f} s")
    print("| population | rate (Hz) | published (Hz) |")
    print("|---|---|---|")
    for name, rate, ref in zip(NAMES, result["rates_hz"], PUBLISHED_HZ):
        print(f"| {name} | {rate:.2f} | {ref:.2f} |")
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
