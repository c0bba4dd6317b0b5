"""IF_cond_exp_gsfa_grr (:mod:`spinn.models.sfa_rr`): without adaptation it is
IF_cond_exp; the adaptation conductances are their closed forms; adaptation
lengthens the intervals. (Against NEST's iaf_cond_exp_sfa_rr through pyNN.nest,
spike_precision='on_grid', dt 0.01 ms, 300 ms of DC + synaptic input: the same
spike times, v within 2e-8 mV; measured by hand, NEST is not a test
dependency.)"""
import numpy as np
import pytest

import spinn as sim

from .recorded import signal, spikes


@pytest.fixture(autouse=True)
def _fresh(fresh):
    yield


COMMON = dict(tau_m=15.0, cm=0.5, v_rest=-62.0, v_reset=-66.0, v_thresh=-52.0,
              tau_refrac=1.0, i_offset=[0.2, 0.5, 0.8], tau_syn_E=2.0, tau_syn_I=4.0,
              e_rev_E=0.0, e_rev_I=-80.0)


def _input(pops):
    times = np.arange(2.0, 200.0, 1.3).round(1)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[times.tolist(),
                                                             (times + 0.4).tolist()]))
    for pop in pops:
        sim.Projection(src[0:1], pop, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=0.5), receptor_type="excitatory")
        sim.Projection(src[1:2], pop, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=0.5), receptor_type="inhibitory")


def test_without_adaptation_it_is_if_cond_exp():
    a = sim.Population(3, sim.IF_cond_exp(**COMMON))
    b = sim.Population(3, sim.IF_cond_exp_gsfa_grr(q_sfa=0.0, q_rr=0.0, **COMMON))
    a.record(["spikes", "v", "gsyn_exc"])
    b.record(["spikes", "v", "gsyn_exc", "g_s"])
    _input([a, b])
    sim.run(200.0)
    assert sum(len(t) for t in spikes(a)) > 10
    for x, y in zip(spikes(a), spikes(b)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(signal(a, "v"), signal(b, "v"))
    np.testing.assert_array_equal(signal(a, "gsyn_exc"), signal(b, "gsyn_exc"))
    np.testing.assert_array_equal(signal(b, "g_s"), 0.0)


def test_adaptation_conductances_and_intervals():
    params = dict(COMMON, i_offset=[0.2, 1.5, 3.0])
    cell = sim.Population(3, sim.IF_cond_exp_gsfa_grr(q_sfa=15.0, tau_sfa=100.0, q_rr=3000.0,
                                                      tau_rr=2.0, **params))
    cell.record(["spikes", "g_s", "g_r"])
    sim.run(300.0)
    trains = spikes(cell)
    g_s, g_r = signal(cell, "g_s"), signal(cell, "g_r")
    t = np.arange(g_s.shape[0]) * 0.1
    for i in (1, 2):
        train = trains[i]
        assert train.size > 4
        isi = np.diff(train)
        assert isi[-1] > isi[0] + 1.0          # spike-frequency adaptation
        # g = sum over earlier spikes of q exp(-(t - t_spike)/tau): the jump is made
        # at the end of the spike's step, so it is there at the spike's time stamp
        age = t[:, None] - train[None, :]
        past = age > -1e-9
        for g, q, tau in ((g_s, 15.0, 100.0), (g_r, 3000.0, 2.0)):
            expected = np.where(past, q * np.exp(-np.where(past, age, 0.0) / tau), 0.0).sum(1)
            np.testing.assert_allclose(g[:, i], expected, rtol=1e-10, atol=1e-12)


def test_bad_time_constant_is_refused():
    with pytest.raises(Exception, match="Population 'bad'.*tau_rr = 0 must be > 0"):
        sim.Population(1, sim.IF_cond_exp_gsfa_grr(tau_rr=0.0), label="bad")
