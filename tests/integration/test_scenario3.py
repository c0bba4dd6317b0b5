"""PyNN's scenario 3, unchanged in substance: 100 Poisson inputs (half at 5 Hz,
half at 40 Hz) into 10 IF_cond_exp cells through additive STDP for 10 s; the
fast half must end significantly stronger (t-test p < 0.01)."""
import numpy as np
import pytest

import spinn as sim

scipy_stats = pytest.importorskip("scipy.stats")


def test_scenario3_high_rate_inputs_potentiate_more():
    second, duration = 1000.0, 10
    tau_m, cm, v_reset = 20.0, 1.0, -60.0
    cell_parameters = dict(tau_m=tau_m, cm=cm, v_rest=-70, e_rev_E=0, e_rev_I=-70,
                           v_thresh=-54, v_reset=v_reset, tau_syn_E=5, tau_syn_I=5)
    g_leak = cm / tau_m
    w_min, w_max = 0.0, 0.05 * g_leak
    r1, r2 = 5.0, 40.0
    sim.setup(quiet=True)
    pre = sim.Population(100, sim.SpikeSourcePoisson())
    post = sim.Population(10, sim.IF_cond_exp())
    pre.set(duration=duration * second)
    pre.set(start=0.0)
    pre[:50].set(rate=r1)
    pre[50:].set(rate=r2)
    assert pre[49].rate == r1 and pre[50].rate == r2
    post.set(**cell_parameters)
    post.initialize(v=sim.RandomDistribution("normal", mu=v_reset, sigma=5.0))
    stdp = sim.STDPMechanism(
        sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.01, A_minus=0.01),
        sim.AdditiveWeightDependence(w_min=w_min, w_max=w_max),
        dendritic_delay_fraction=1)
    connections = sim.Projection(pre, post, sim.AllToAllConnector(), synapse_type=stdp,
                                 receptor_type="excitatory")
    connections.set(weight=sim.RandomDistribution("uniform", low=w_min, high=w_max))
    initial = connections.get("weight", format="array", gather=False)
    assert initial.min() >= w_min and initial.max() < w_max
    assert initial[0, 0] != initial[1, 0]
    pre.record("spikes")
    post.record("spikes")
    sim.run(duration * second)
    actual_rate = pre.mean_spike_count() / duration
    assert abs(actual_rate - (r1 + r2) / 2) < 1, actual_rate
    final = connections.get("weight", format="array", gather=False)
    assert initial[0, 0] != final[0, 0]
    assert np.all((final >= w_min) & (final <= w_max))
    t, p = scipy_stats.ttest_ind(final[:50, :].flat, final[50:, :].flat)
    assert p < 0.01, p
    assert final[:50, :].mean() < final[50:, :].mean()
    sim.end()
