"""PyNN's composed neuron (``PointNeuron``, :mod:`spinn.models.point`):
the same numbers as the monolithic models it can stand for, closed forms of
each receptor's conductance, receptors kept apart, rank invariance."""
import math

import numpy as np
import pytest

import spinn as sim

from .recorded import signal, spikes


@pytest.fixture(autouse=True)
def _fresh(fresh):
    yield


def _drive(pops, exc_w, inh_w, n=20, seed=7):
    """Poisson-like input (fixed spike times) on 'excitatory' and 'inhibitory'."""
    rng = np.random.default_rng(seed)
    times = [np.sort(np.round(rng.uniform(1.0, 290.0, 60), 1)) for _ in range(2 * n)]
    src = sim.Population(2 * n, sim.SpikeSourceArray(spike_times=[t.tolist() for t in times]))
    for pop in pops:
        sim.Projection(src[:n], pop, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=exc_w, delay=0.5), receptor_type="excitatory")
        sim.Projection(src[n:], pop, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=inh_w, delay=0.7), receptor_type="inhibitory")


@pytest.mark.parametrize("kind", ["curr_exp", "cond_exp", "cond_alpha_adex"])
def test_composed_equals_monolith_bit_for_bit(kind):
    common = dict(tau_m=12.0, cm=0.8, v_rest=-62.0, v_reset=-66.0, tau_refrac=2.0,
                  i_offset=0.3)
    if kind == "curr_exp":
        mono = sim.IF_curr_exp(v_thresh=-52.0, tau_syn_E=2.0, tau_syn_I=4.0, **common)
        comp = sim.PointNeuron(sim.LIF(v_thresh=-52.0, **common),
                               excitatory=sim.CurrExpPostSynapticResponse(tau_syn=2.0),
                               inhibitory=sim.CurrExpPostSynapticResponse(tau_syn=4.0))
        w, variables = (0.5, -0.1), ()       # IF_curr_exp records no currents
    elif kind == "cond_exp":
        mono = sim.IF_cond_exp(v_thresh=-52.0, tau_syn_E=2.0, tau_syn_I=4.0, e_rev_E=0.0,
                               e_rev_I=-80.0, **common)
        comp = sim.PointNeuron(sim.LIF(v_thresh=-52.0, **common),
                               excitatory=sim.CondExpPostSynapticResponse(tau_syn=2.0, e_syn=0.0),
                               inhibitory=sim.CondExpPostSynapticResponse(tau_syn=4.0,
                                                                          e_syn=-80.0))
        w, variables = (0.006, 0.002), (("gsyn_exc", "excitatory.gsyn"),
                                       ("gsyn_inh", "inhibitory.gsyn"))
    else:
        adex = dict(a=2.0, b=0.05, delta_T=2.0, tau_w=100.0, v_thresh=-52.0, v_spike=-40.0)
        mono = sim.EIF_cond_alpha_isfa_ista(tau_syn_E=2.0, tau_syn_I=4.0, e_rev_E=0.0,
                                            e_rev_I=-80.0, **common, **adex)
        comp = sim.PointNeuron(sim.AdExp(**common, **adex),
                               excitatory=sim.AlphaPSR(tau_syn=2.0, e_syn=0.0),
                               inhibitory=sim.AlphaPSR(tau_syn=4.0, e_syn=-80.0))
        w, variables = (0.004, 0.001), (("gsyn_exc", "excitatory.gsyn"),
                                        ("gsyn_inh", "inhibitory.gsyn"), ("w", "w"))
    a = sim.Population(3, mono, initial_values={"v": -60.0})
    b = sim.Population(3, comp, initial_values={"v": -60.0})
    a.record(["spikes", "v"] + [m for m, _ in variables])
    b.record(["spikes", "v"] + [c for _, c in variables])
    _drive([a, b], *w)
    sim.run(300.0)
    n_spikes = sum(len(t) for t in spikes(a))
    assert 10 < n_spikes < 300, n_spikes
    for x, y in zip(spikes(a), spikes(b)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(signal(a, "v"), signal(b, "v"))
    for m, c in variables:
        assert np.ptp(signal(a, m)) > 0
        np.testing.assert_array_equal(signal(a, m), signal(b, c))


def test_each_receptor_has_its_own_conductance():
    """Four receptors of three shapes, one input each: every conductance is
    its closed form (peak = weight for alpha and beta), the others stay 0
    until their own input arrives."""
    cell = sim.PointNeuron(
        sim.LIF(v_thresh=100.0),
        AMPA=sim.CondExpPostSynapticResponse(tau_syn=3.0, e_syn=0.0),
        GABAA=sim.CondAlphaPostSynapticResponse(tau_syn=2.0, e_syn=-70.0),
        GABAB=sim.CondBetaPostSynapticResponse(tau_rise=2.0, tau_decay=15.0, e_syn=-90.0),
        NMDA=sim.CondBetaPostSynapticResponse(tau_rise=4.0, tau_decay=4.0, e_syn=0.0))
    assert cell.receptor_types == ["AMPA", "GABAA", "GABAB", "NMDA"]
    pop = sim.Population(1, cell)
    names = ["AMPA", "GABAA", "GABAB", "NMDA"]
    pop.record([f"{r}.gsyn" for r in names])
    arrival = {"AMPA": 10.0, "GABAA": 30.0, "GABAB": 50.0, "NMDA": 70.0}
    weight = {"AMPA": 0.01, "GABAA": 0.02, "GABAB": 0.03, "NMDA": 0.04}
    src = sim.Population(4, sim.SpikeSourceArray(spike_times=[[arrival[r] - 1.0]
                                                             for r in names]))
    for i, r in enumerate(names):
        sim.Projection(src[i:i + 1], pop, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=weight[r], delay=1.0), receptor_type=r)
    assert pop.get("GABAB.tau_decay") == 15.0
    sim.run(120.0)
    t = np.arange(1201) * 0.1
    for r in names:
        g = signal(pop, f"{r}.gsyn")[:, 0]
        s = t - arrival[r]
        on = s > -1e-9
        np.testing.assert_array_equal(g[~on], 0.0)
        s = s[on]
        if r == "AMPA":
            expected = weight[r] * np.exp(-s / 3.0)
        elif r == "GABAA":
            expected = weight[r] * s / 2.0 * np.exp(1 - s / 2.0)
        elif r == "NMDA":      # equal time constants: the alpha function
            expected = weight[r] * s / 4.0 * np.exp(1 - s / 4.0)
        else:
            shape = np.exp(-s / 15.0) - np.exp(-s / 2.0)
            t_peak = 2.0 * 15.0 * math.log(15.0 / 2.0) / 13.0
            expected = weight[r] * shape / (math.exp(-t_peak / 15.0) - math.exp(-t_peak / 2.0))
            assert abs(g.max() - weight[r]) < 1e-4 * weight[r]
        np.testing.assert_allclose(g[on], expected, rtol=1e-12, atol=1e-15)


def test_current_receptors_take_either_sign():
    cell = sim.PointNeuron(sim.LIF(v_thresh=100.0, tau_m=10.0, cm=1.0, v_rest=0.0),
                           A=sim.CurrExpPostSynapticResponse(tau_syn=2.0),
                           B=sim.CurrExpPostSynapticResponse(tau_syn=5.0),
                           C=sim.CurrExpPostSynapticResponse(tau_syn=1.0))
    pop = sim.Population(1, cell, initial_values={"v": 0.0})
    pop.record(["v", "A.isyn", "B.isyn", "C.isyn"])
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    sim.Projection(src, pop, sim.OneToOneConnector(), sim.StaticSynapse(weight=-0.5, delay=1.0),
                   receptor_type="B")
    sim.run(30.0)
    t = np.arange(301) * 0.1
    s = np.clip(t - 6.0, 0.0, None)
    np.testing.assert_array_equal(signal(pop, "A.isyn"), 0.0)
    np.testing.assert_array_equal(signal(pop, "C.isyn"), 0.0)
    np.testing.assert_allclose(signal(pop, "B.isyn")[:, 0],
                               np.where(t > 6.0 - 1e-9, -0.5 * np.exp(-s / 5.0), 0.0),
                               rtol=1e-12, atol=1e-15)
    expected = -0.5 * 5.0 * 10.0 / (10.0 - 5.0) * (np.exp(-s / 10.0) - np.exp(-s / 5.0))
    np.testing.assert_allclose(signal(pop, "v")[:, 0], expected, rtol=0, atol=1e-10)


def test_wrong_receptors_are_refused():
    cell = sim.PointNeuron(sim.LIF(), AMPA=sim.CondExpPostSynapticResponse())
    pop = sim.Population(1, cell)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    with pytest.raises(Exception, match="NMDA.*must be one of: 'AMPA'"):
        sim.Projection(src, pop, sim.OneToOneConnector(), receptor_type="NMDA")
    with pytest.raises(Exception, match="weight -0.1 is negative"):
        sim.Projection(src, pop, sim.OneToOneConnector(), sim.StaticSynapse(weight=-0.1),
                       receptor_type="AMPA")
    with pytest.raises(Exception, match="mix"):
        sim.PointNeuron(sim.LIF(), AMPA=sim.CondExpPostSynapticResponse(),
                        GABA=sim.CurrExpPostSynapticResponse())
    with pytest.raises(Exception, match="need the LIF membrane"):
        sim.PointNeuron(sim.AdExp(), AMPA=sim.CurrExpPostSynapticResponse())
    with pytest.raises(Exception, match="tau_syn must be > 0"):
        sim.Population(1, sim.PointNeuron(sim.LIF(),
                                          AMPA=sim.CondExpPostSynapticResponse(tau_syn=0.0)))
        sim.run(1.0)


def _three_receptor_network(n_ranks):
    sim.end()
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks, min_delay=0.5)
    sim.set_number_of_neurons_per_core(sim.SpikeSourcePoisson, 7)
    cell = sim.PointNeuron(sim.AdExp(v_rest=-60.0, tau_m=10.0),
                           AMPA=sim.AlphaPSR(tau_syn=1.0, e_syn=0.0),
                           GABAA=sim.AlphaPSR(tau_syn=1.5, e_syn=-70.0),
                           NMDA=sim.BetaPSR(tau_rise=3.0, tau_decay=30.0, e_syn=0.0))
    pop = sim.Population(30, cell, label="cells")
    noise = sim.Population(40, sim.SpikeSourcePoisson(rate=40.0), label="noise")
    rng = sim.NumpyRNG(seed=11)
    for r, w in (("AMPA", 0.004), ("GABAA", 0.004), ("NMDA", 0.0008)):
        sim.Projection(noise, pop, sim.FixedProbabilityConnector(0.3, rng=rng),
                       sim.StaticSynapse(weight=w, delay=1.0), receptor_type=r)
    sim.Projection(pop, pop, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.StaticSynapse(weight=0.002, delay=1.5), receptor_type="NMDA")
    pop.record(["spikes", "v", "NMDA.gsyn"])
    sim.run(200.0)
    return spikes(pop), signal(pop, "v"), signal(pop, "NMDA.gsyn")


def test_rank_invariance():
    ref = _three_receptor_network(1)
    assert sum(len(t) for t in ref[0]) > 20
    for n in (2, 3):
        other = _three_receptor_network(n)
        for a, b in zip(ref[0], other[0]):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ref[1], other[1])
        np.testing.assert_array_equal(ref[2], other[2])


def _checkpointed_network(n_ranks):
    sim.end()
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks, min_delay=0.5)
    cell = sim.PointNeuron(sim.LIF(v_rest=-60.0, tau_m=10.0, v_thresh=-55.0),
                           A=sim.CondExpPostSynapticResponse(tau_syn=2.0, e_syn=0.0),
                           B=sim.BetaPSR(tau_rise=1.0, tau_decay=8.0, e_syn=0.0),
                           C=sim.AlphaPSR(tau_syn=3.0, e_syn=-75.0))
    pop = sim.Population(20, cell, label="cells")
    gif = sim.Population(10, sim.GIF_cond_exp(lambda0=20.0, delta_v=2.0, v_t_star=-58.0),
                         label="gif")
    noise = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0), label="noise")
    rng = sim.NumpyRNG(seed=3)
    for r, w, d in (("A", 0.01, 1.0), ("B", 0.004, 7.0), ("C", 0.003, 3.0)):
        sim.Projection(noise, pop, sim.FixedProbabilityConnector(0.4, rng=rng),
                       sim.StaticSynapse(weight=w, delay=d), receptor_type=r)
    sim.Projection(noise, gif, sim.FixedProbabilityConnector(0.4, rng=rng),
                   sim.StaticSynapse(weight=0.01, delay=2.0))
    sim.Projection(gif, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.002, delay=4.0),
                   receptor_type="B")
    pop.record(["spikes", "v"])
    gif.record(["spikes", "v_t"])
    return pop, gif


def test_checkpoint_keeps_every_receptor_in_flight(tmp_path):
    """Saved after 30 ms with input in flight on all three receptor rows (and GIF
    adaptation components), restored on another number of ranks: the same run."""
    pop, gif = _checkpointed_network(1)
    sim.run(60.0)
    reference = (spikes(pop), signal(pop, "v"), spikes(gif), signal(gif, "v_t"))
    _checkpointed_network(2)
    sim.run(30.0)
    sim.save_checkpoint(tmp_path / "at30")
    pop, gif = _checkpointed_network(3)
    sim.restore_checkpoint(tmp_path / "at30")
    sim.run(30.0)
    again = (spikes(pop), signal(pop, "v"), spikes(gif), signal(gif, "v_t"))
    assert sum(len(t) for t in reference[0]) > 5 and sum(len(t) for t in reference[2]) > 5
    for a, b in zip(reference[0] + reference[2], again[0] + again[2]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(reference[1], again[1])
    np.testing.assert_array_equal(reference[3], again[3])


def test_receptor_parameters_set_and_initialized_by_name():
    cell = sim.PointNeuron(sim.LIF(v_thresh=100.0),
                           AMPA=sim.CondExpPostSynapticResponse(tau_syn=2.0))
    pop = sim.Population(2, cell)
    pop.set(**{"AMPA.tau_syn": 4.0})
    pop.initialize(**{"AMPA.gsyn": 0.01})
    assert pop.get("AMPA.tau_syn") == 4.0
    pop.record("AMPA.gsyn")
    sim.run(4.0)
    pop.set(**{"AMPA.tau_syn": 1.0})          # between runs: from the next step on
    sim.run(1.0)
    g = signal(pop, "AMPA.gsyn")[:, 0]
    np.testing.assert_allclose(g[40], 0.01 * math.exp(-1.0), rtol=1e-13)
    np.testing.assert_allclose(g[50], 0.01 * math.exp(-2.0), rtol=1e-13)
