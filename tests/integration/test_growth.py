"""A network that grows between runs: populations, projections and current
sources added after a run are mapped at the next run, and every existing
neuron's and synapse's state, the input in flight and what was recorded
carry over (spinn.state)."""
import numpy as np
import pytest

import spinn as sim


def _core(n_ranks, *, stdp=False, axonal=False):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks, rng_seed=7)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 7)
    drive = sim.Population(30, sim.SpikeSourcePoisson(rate=80.0), label="drive")
    exc = sim.Population(40, sim.IF_curr_exp(tau_refrac=2.0), label="exc",
                         initial_values={"v": sim.RandomDistribution("uniform", (-65, -55))})
    syn = sim.StaticSynapse(weight=0.6, delay=1.5)
    if stdp:
        syn = sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                                A_plus=0.01, A_minus=0.012),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.5),
            weight=0.6, delay=1.5, dendritic_delay_fraction=0.0 if axonal else 1.0)
    inp = sim.Projection(drive, exc, sim.FixedProbabilityConnector(0.3), syn, label="inp")
    sim.Projection(exc, exc, sim.FixedProbabilityConnector(0.1),
                   sim.StaticSynapse(weight=0.2, delay=2.0), label="rec")
    exc.record(["spikes", "v"])
    return drive, exc, inp


def _result(exc, inp):
    block = exc.get_data()
    spikes = [np.asarray(st.magnitude).copy() for st in block.segments[0].spiketrains]
    v = np.asarray(block.segments[0].filter(name="v")[0].magnitude).copy()
    w = np.asarray(inp.get(["weight"], format="list"), dtype=float)
    return spikes, v, w[np.lexsort((w[:, 1], w[:, 0]))]


def _grown(n_ranks, *, connect_new=False, **kw):
    drive, exc, inp = _core(n_ranks, **kw)
    sim.run(30.0)
    late = sim.Population(12, sim.IF_curr_exp(i_offset=1.0), label="late")
    late.record("spikes")
    sim.Projection(exc, late, sim.FixedProbabilityConnector(0.5),
                   sim.StaticSynapse(weight=0.5, delay=1.0), label="exc-late")
    if connect_new:
        sim.Projection(late, exc, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.4, delay=0.7), label="late-exc")
    sim.DCSource(amplitude=0.3, start=35.0, stop=45.0).inject_into(late)
    sim.run(30.0)
    out = _result(exc, inp)
    late_spikes = [np.asarray(st.magnitude).copy()
                   for st in late.get_data().segments[0].spiketrains]
    sim.end()
    return out, late_spikes


def _uninterrupted(n_ranks, **kw):
    drive, exc, inp = _core(n_ranks, **kw)
    sim.run(30.0)
    sim.run(30.0)
    out = _result(exc, inp)
    sim.end()
    return out


def _same(a, b):
    spikes_a, v_a, w_a = a
    spikes_b, v_b, w_b = b
    assert len(spikes_a) == len(spikes_b)
    for x, y in zip(spikes_a, spikes_b):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(v_a, v_b)
    np.testing.assert_array_equal(w_a, w_b)


@pytest.mark.parametrize("kw", [{}, {"stdp": True}, {"stdp": True, "axonal": True}],
                         ids=["static", "stdp", "stdp-axonal"])
def test_added_objects_leave_the_rest_bit_identical(kw):
    """What is added feeds nothing back: the old network goes on exactly as
    without the addition, though every neuron may have moved to another rank."""
    reference = _uninterrupted(1, **kw)
    assert sum(len(s) for s in reference[0]) > 50
    for n_ranks in (1, 3):
        grown, late = _grown(n_ranks, **kw)
        _same(grown, reference)
        assert sum(len(s) for s in late) > 0
        assert min(s.min() for s in late if len(s)) > 30.0


def test_growth_that_feeds_back_is_rank_invariant():
    runs = [_grown(n, connect_new=True) for n in (1, 2, 3)]
    for other in runs[1:]:
        _same(runs[0][0], other[0])
        for x, y in zip(runs[0][1], other[1]):
            np.testing.assert_array_equal(x, y)
    # the new input changes the old network after 30 ms, not before
    reference = _uninterrupted(1)
    grown = runs[0][0]
    n_early = [np.sum(s <= 30.0) for s in grown[0]]
    assert n_early == [np.sum(s <= 30.0) for s in reference[0]]
    assert any(len(a) != len(b) or not np.array_equal(a, b)
               for a, b in zip(grown[0], reference[0]))


def test_initialize_and_set_between_growth_win_over_carried_state():
    drive, exc, inp = _core(2, stdp=True)
    sim.run(20.0)
    exc[0:5].initialize(v=-52.0)
    inp.set(weight=0.25)
    sim.Population(3, sim.IF_curr_exp(), label="late")
    sim.run(0.1)
    v = np.asarray(exc.get_data().segments[0].filter(name="v")[0].magnitude)
    assert np.all(v[200, 0:5] == -52.0)
    assert np.all(v[200, 5:] != -52.0)
    w = np.asarray(inp.get("weight", format="list"))[:, 2]
    assert np.all(np.abs(w - 0.25) < 0.02)      # at most one step of plasticity after set
    sim.end()
