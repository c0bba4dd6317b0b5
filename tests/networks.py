"""Small networks shared by the integration, MPI and e2e tests.

``mixed_network(sim)`` uses every feature of the engine at once (all cell
types, all connectors, random weights and delays, views, assemblies,
multiplicity); tests run it under several rank counts and slice sizes and
require identical results.
"""
import numpy as np


def run_mixed(sim, npc, **setup):
    """setup(), build and run the mixed network, end(); return what to compare:
    (spikes, v, connection lists per projection, run statistics)."""
    from spinn.pynn.simulator import state
    sim.setup(timestep=0.1, quiet=True, **setup)
    spikes, v, _ = mixed_network(sim, npc=npc)
    conns = {p.label: np.array(p.get(["weight", "delay"], format="list"))
             for p in state.projections}
    stats = sim.get_run_statistics()
    sim.end()
    return spikes, v, conns, stats


def mixed_network(sim, *, npc=None, tstop=150.0, seed=4242):
    """Build and run the mixed network; return (spikes, v, connections)."""
    if npc is not None:
        sim.set_number_of_neurons_per_core(sim.IF_curr_exp, npc)
        sim.set_number_of_neurons_per_core(sim.IF_curr_delta, npc)
        sim.set_number_of_neurons_per_core(sim.SpikeSourcePoisson, npc)
    rng = sim.NumpyRNG(seed=seed)
    exc = sim.Population(120, sim.IF_curr_exp(tau_m=15.0, v_rest=-60.0, v_thresh=-52.0,
                                              v_reset=-62.0, tau_refrac=2.0, i_offset=0.5,
                                              tau_syn_E=3.0, tau_syn_I=6.0),
                         initial_values={"v": sim.RandomDistribution(
                             "uniform", low=-62.0, high=-53.0, rng=rng)}, label="exc")
    delta = sim.Population(45, sim.IF_curr_delta(tau_m=10.0, v_rest=-65.0, v_thresh=-55.0,
                                                 v_reset=-70.0, tau_refrac=1.0),
                           label="delta")
    noise = sim.Population(60, sim.SpikeSourcePoisson(rate=30.0), label="noise")
    burst = sim.Population(5, sim.SpikeSourcePoisson(rate=4000.0, start=20.0, duration=5.0),
                           label="burst")      # rate*dt = 0.4: spikes with multiplicity
    times = sim.Population(3, sim.SpikeSourceArray(
        spike_times=[[5.0, 5.0, 30.0], [12.3], [40.0, 41.0, 42.0]]), label="times")
    w_rand = sim.RandomDistribution("uniform", low=0.05, high=0.3, rng=rng)
    d_rand = sim.RandomDistribution("uniform", low=0.1, high=3.0, rng=rng)
    sim.Projection(noise, exc, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.StaticSynapse(weight=w_rand, delay=d_rand), label="noise-exc")
    sim.Projection(exc, exc, sim.FixedNumberPreConnector(8, allow_self_connections=False,
                                                         rng=rng),
                   sim.StaticSynapse(weight=0.2, delay=1.0), label="exc-exc")
    sim.Projection(exc[:40], delta, sim.FixedNumberPostConnector(5, rng=rng),
                   sim.StaticSynapse(weight=1.5, delay=0.5), label="exc-delta")
    sim.Projection(delta, exc, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=-0.05, delay=2.0), receptor_type="inhibitory",
                   label="delta-exc")
    sim.Projection(burst, delta[:5], sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=2.0, delay=0.1), label="burst-delta")
    sim.Projection(times, exc[10:13] + delta[0:1], sim.FromListConnector(
        [(0, 0, 1.0, 0.3), (1, 1, 1.2, 7.5), (2, 2, 0.8, 0.1), (2, 3, 4.0, 1.0)],
        column_names=["weight", "delay"]), label="times-list")
    exc.record(["spikes", "v"])
    delta.record("spikes")
    noise.record("spikes")
    burst.record("spikes")
    sim.run(tstop / 2)
    sim.run(tstop / 2)          # repeated run() calls continue seamlessly
    spikes = {}
    for pop in (exc, delta, noise, burst):
        seg = pop.get_data().segments[0]
        spikes[pop.label] = [np.asarray(st.magnitude) for st in seg.spiketrains]
    v = np.asarray(exc.get_data("v").segments[0].filter(name="v")[0].magnitude)
    conns = {}
    for prj in sim.state.projections if hasattr(sim, "state") else []:
        conns[prj.label] = np.array(prj.get(["weight", "delay"], format="list"))
    return spikes, v, conns
