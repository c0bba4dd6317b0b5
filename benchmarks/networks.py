"""The benchmark networks as ordinary PyNN code (``sim`` is ``spinn``, or any
PyNN backend), and their definitions for the peers (benchmarks/peers.py).

* CUBA (Brette et al. 2007, benchmark 2, current-based): 4,000 IF_curr_exp
  (3,200 exc, 800 inh), connection probability 2 %, delays of one step
  (0.1 ms), started by 20 Poisson sources at 100 Hz for 50 ms.
* Brunel (2000) with delta synapses: IF_curr_delta (tau_m 20 ms, threshold
  20 mV, reset 0 mV, refractory 2 ms), N_E = 4 N_I, each neuron drawing
  its inputs with probability C_E / N_E (C_E = 1,000, C_I = 250 at any
  scale), J = 0.1 mV, g = 5, delays 1.5 ms, and a 20 kHz Poisson drive per
  neuron (one source per neuron, one to one). 12,500 neurons at scale 1,
  50,000 at scale 4.
"""
from __future__ import annotations

CUBA = dict(n=4000, p=0.02, w_exc=0.0162, w_inh=-0.09, delay=0.1, stim=20, stim_rate=100.0,
            stim_duration=50.0, stim_p=0.1, stim_w=0.1,
            cell=dict(tau_m=20.0, cm=0.2, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0,
                      tau_refrac=5.0, tau_syn_E=5.0, tau_syn_I=10.0, i_offset=0.0))

BRUNEL = dict(n_exc=10000, n_inh=2500, c_e=1000, c_i=250, j=0.1, g=5.0, delay=1.5,
              drive_hz=20000.0,
              cell=dict(tau_m=20.0, cm=0.25, v_rest=0.0, v_reset=0.0, v_thresh=20.0,
                        tau_refrac=2.0, i_offset=0.0))


def cuba(sim, *, seed: int = 1, quiet: bool = False):
    """Build CUBA in ``sim``; returns (recorded populations, out-degree of each).

    ``quiet``: the same network without its input (no stimulus, v_rest below
    threshold): no spikes at all, what is left is the fixed cost of a step."""
    c = CUBA
    n_exc = int(c["n"] * 0.8)
    rng = sim.NumpyRNG(seed=seed)
    cell = sim.IF_curr_exp(**cuba_cell(quiet))
    v0 = sim.RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng)
    exc = sim.Population(n_exc, cell, initial_values={"v": v0}, label="exc")
    inh = sim.Population(c["n"] - n_exc, cell, initial_values={"v": v0}, label="inh")
    for pre, w, receptor in ((exc, c["w_exc"], "excitatory"), (inh, c["w_inh"], "inhibitory")):
        for post in (exc, inh):
            sim.Projection(pre, post, sim.FixedProbabilityConnector(c["p"], rng=rng),
                           sim.StaticSynapse(weight=w, delay=c["delay"]),
                           receptor_type=receptor)
    if not quiet:
        stim = sim.Population(c["stim"], sim.SpikeSourcePoisson(
            rate=c["stim_rate"], duration=c["stim_duration"]), label="stim")
        for post in (exc, inh):
            sim.Projection(stim, post, sim.FixedProbabilityConnector(c["stim_p"], rng=rng),
                           sim.StaticSynapse(weight=c["stim_w"], delay=c["delay"]),
                           receptor_type="excitatory")
    for pop in (exc, inh):
        pop.record("spikes")
    out = c["p"] * c["n"]
    return [exc, inh], [out, out]


def cuba_cell(quiet: bool = False) -> dict:
    cell = dict(CUBA["cell"])
    if quiet:
        cell["v_rest"] = -60.0
    return cell


def brunel(sim, *, scale: float = 1.0, exc_exc=None):
    """Build Brunel's network in ``sim``; returns (recorded populations, out-degrees).

    ``exc_exc``: a synapse type for the excitatory-to-excitatory projection
    instead of the static one (e.g. STDP, benchmarks/checkpoint_bench.py)."""
    b = BRUNEL
    n_exc, n_inh = int(b["n_exc"] * scale), int(b["n_inh"] * scale)
    cell = sim.IF_curr_delta(**b["cell"])
    exc = sim.Population(n_exc, cell, label="exc")
    inh = sim.Population(n_inh, cell, label="inh")
    for pop in (exc, inh):
        pop.initialize(v=sim.RandomDistribution("uniform", (0.0, 20.0)))
        drive = sim.Population(pop.size, sim.SpikeSourcePoisson(rate=b["drive_hz"]),
                               label=f"drive-{pop.label}")
        sim.Projection(drive, pop, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=b["j"], delay=b["delay"]),
                       receptor_type="excitatory")
    for pre, k, w, receptor in ((exc, b["c_e"], b["j"], "excitatory"),
                                (inh, b["c_i"], -b["g"] * b["j"], "inhibitory")):
        for post in (exc, inh):
            synapse = (exc_exc if exc_exc is not None and pre is exc and post is exc
                       else sim.StaticSynapse(weight=w, delay=b["delay"]))
            sim.Projection(pre, post, sim.FixedProbabilityConnector(
                k / pre.size, allow_self_connections=False), synapse, receptor_type=receptor)
    for pop in (exc, inh):
        pop.record("spikes")
    total = n_exc + n_inh
    return [exc, inh], [b["c_e"] * total / n_exc, b["c_i"] * total / n_inh]


NETWORKS = {"cuba": (cuba, {}), "quiet": (cuba, {"quiet": True}), "brunel": (brunel, {}),
            "brunel50k": (brunel, {"scale": 4.0})}


def drive_events(name: str, tstop_ms: float) -> float:
    """Expected input events from the external drive (Poisson spikes in, one
    synapse each) over a run."""
    if name.startswith("brunel"):
        scale = NETWORKS[name][1].get("scale", 1.0)
        n = (BRUNEL["n_exc"] + BRUNEL["n_inh"]) * scale
        return n * BRUNEL["drive_hz"] * tstop_ms / 1000.0
    c = CUBA
    if name == "quiet":
        return 0.0
    return (c["stim"] * c["stim_rate"] * min(tstop_ms, c["stim_duration"]) / 1000.0
            * c["stim_p"] * c["n"])
