"""Measure the costs the partitioner places by (written into spinn/costs.py).

    python benchmarks/calibrate_costs.py

For every cell type: seconds per neuron and step of its update (20,000
neurons, 300 steps, no input; sources at 10 Hz), the marginal cost of a
large vectorised step. For delivery: seconds per synaptic event of the
receive path (a network whose sources spike every step, deliver phase over
events). Only ratios matter for placement; absolute values drift with the
machine's load. Prints the dictionaries to paste.
"""
from __future__ import annotations

import time

import numpy as np

import spinn as sim
from spinn.models import MODELS
from spinn.pynn.simulator import state

N, STEPS = 20_000, 300


def update_cost(name: str) -> float:
    cls = MODELS[name]
    gids = np.arange(N, dtype=np.int64)
    params = {p: np.full(N, _default(name, p)) for p in cls.parameter_names()}
    initial = {v: np.full(N, _initial(name, v)) for v in cls.state_names()}
    extra = {}
    if name == "SpikeSourceArray":
        times = np.arange(0.1, STEPS * 0.1, 10.0)     # a spike every 100 steps
        extra = {"spike_times": (np.tile(times, N), np.arange(N + 1) * times.size)}
    group = cls(gids, params, initial, 0.1, 1, **extra)
    zero = np.zeros(N)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for k in range(STEPS):
            group.step(k, zero, zero)
        best = min(best, time.perf_counter() - t0)
    return best / (N * STEPS)


def _default(model: str, parameter: str) -> float:
    pynn = getattr(sim, model, None) or getattr(sim.extra_models, model)
    value = pynn.default_parameters.get(parameter, 0.0)
    if parameter == "rate":
        return 10.0
    if parameter in ("duration",):
        return 1e9
    if parameter == "beta":
        return 20.0
    return float(value) if np.ndim(value) == 0 else 0.0


def _initial(model: str, variable: str) -> float:
    pynn = getattr(sim, model, None) or getattr(sim.extra_models, model)
    return float(pynn.default_initial_values.get(variable, 0.0))


def event_cost() -> float:
    """Deliver-phase seconds per synaptic event: 1,000 sources spiking in every
    step onto 5,000 cells with 200 synapses each (200,000 events a step)."""
    sim.setup(timestep=0.1, quiet=True)
    src = sim.Population(1000, sim.SpikeSourceArray(spike_times=np.arange(0.1, 31.0, 0.1)))
    dst = sim.Population(5000, sim.IF_curr_exp(v_thresh=1e9))
    sim.Projection(src, dst, sim.FixedNumberPreConnector(40), sim.StaticSynapse(weight=0.01))
    sim.run(30.0)
    sim_ = state.simulation
    events = sum(rt.n_keys_used for rt in sim_.runtimes) * 200.0
    deliver = sim_.phase_seconds["deliver"]
    sim.end()
    return deliver / events


def key_cost() -> float:
    """Seconds per key of routing and exchanging it (what a replicated source
    saves, spinn.fusion): 20,000 Poisson sources at 10 kHz (a key each per
    step), each with one synapse, on 2 in-process ranks; the update and
    exchange phases of the routed network minus those of the same sources
    with no synapses, over the keys."""
    def phases(connect: bool):
        sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=2, fuse_sources=False)
        src = sim.Population(20_000, sim.SpikeSourcePoisson(rate=10_000.0))
        dst = sim.Population(2, sim.IF_curr_exp(v_thresh=1e9))
        if connect:
            sim.Projection(src, dst, sim.FixedNumberPreConnector(10_000),
                           sim.StaticSynapse(weight=0.0001, delay=1.0))
        sim.run(1.0)
        before = dict(state.simulation.phase_seconds)
        sim.run(30.0)
        after = state.simulation.phase_seconds
        keys = sum(rt.n_keys_received for rt in state.simulation.runtimes)
        sim.end()
        return sum(after[p] - before[p] for p in ("update", "exchange")), keys
    routed, keys = phases(True)
    alone, _ = phases(False)
    return (routed - alone) / keys


if __name__ == "__main__":
    for name in MODELS:          # warm up: the first large temporaries cost page faults
        update_cost(name)
    update = {name: update_cost(name) for name in MODELS}
    event = event_cost()
    key = key_cost()
    print("UPDATE_SECONDS = {")
    for name, seconds in update.items():
        print(f"    {name!r}: {seconds:.3g},")
    print("}")
    print(f"EVENT_SECONDS = {event:.3g}")
    print(f"KEY_SECONDS = {key:.3g}")
