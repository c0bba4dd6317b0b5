"""STDP: the window against the closed form for both delay interpretations,
rank-count invariance of learned weights, bounds, and the classic
rate-dependent potentiation (PyNN's scenario 3)."""
import math

import numpy as np
import pytest

import spinn as sim
from spinn.errors import NetworkError

A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS, W0 = 0.01, 0.012, 16.8, 33.7, 0.5
DELAY = 1.0


def window_run(ddf, n_ranks=1, npc=None, rule="pair", weight_dependence=None):
    """One pre/post pair per neuron, Δt (post spike - pre spike) from -50 to +50 ms."""
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
    if npc:
        sim.set_number_of_neurons_per_core(sim.IF_curr_delta, npc)
        sim.set_number_of_neurons_per_core(sim.SpikeSourceArray, npc)
    offsets = np.arange(-50.0, 50.5, 2.5)
    n = offsets.size
    t_pre = 100.0
    pre = sim.Population(n, sim.SpikeSourceArray(spike_times=[[t_pre]] * n))
    # the driver makes each post neuron fire once, at t_pre + offset
    drive = sim.Population(n, sim.SpikeSourceArray(
        spike_times=[[t_pre + o - 0.1] for o in offsets]))
    post = sim.Population(n, sim.IF_curr_delta(v_rest=-65.0, v_thresh=-60.0, v_reset=-70.0,
                                               tau_refrac=1000.0))
    sim.Projection(drive, post, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=10.0, delay=0.1))
    rule_cls = {"pair": sim.SpikePairRule, "nearest": sim.SpikeNearestPairRule}[rule]
    stdp = sim.STDPMechanism(
        timing_dependence=rule_cls(tau_plus=TAU_PLUS, tau_minus=TAU_MINUS,
                                   A_plus=A_PLUS, A_minus=A_MINUS),
        weight_dependence=weight_dependence or sim.AdditiveWeightDependence(w_min=0.0,
                                                                             w_max=1.0),
        weight=W0, delay=DELAY, dendritic_delay_fraction=ddf)
    prj = sim.Projection(pre, post, sim.OneToOneConnector(), stdp,
                         receptor_type="excitatory")
    post.record("spikes")
    sim.run(200.0)
    t_post = np.array([st.magnitude[0] for st in post.get_data().segments[0].spiketrains])
    weights = np.array([c[2] for c in prj.get("weight", format="list")])
    sim.end()
    return t_post, weights


@pytest.mark.parametrize("ddf", [0.0, 1.0])
def test_window_matches_closed_form(ddf):
    t_post, w = window_run(ddf)
    assert t_post.size == 41
    # what the synapse sees: pre at 100 (+d if axonal), post at t_post (+d if dendritic)
    dt_seen = (t_post + DELAY * ddf) - (100.0 + DELAY * (1 - ddf))
    expected = np.where(dt_seen > 1e-9, W0 + A_PLUS * np.exp(-dt_seen / TAU_PLUS),
                        np.where(dt_seen < -1e-9, W0 - A_MINUS * np.exp(dt_seen / TAU_MINUS),
                                 W0))
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-12)
    assert (w > W0).sum() > 15 and (w < W0).sum() > 15


def test_window_multiplicative_and_nearest():
    _, w = window_run(0.0, weight_dependence=sim.MultiplicativeWeightDependence(0.0, 1.0))
    t_post, w_add = window_run(0.0)
    up, down = w_add > W0, w_add < W0
    # multiplicative: potentiation scaled by (w_max - w)/w_max, depression by w/w_max
    np.testing.assert_allclose(w[up] - W0, (w_add[up] - W0) * (1 - W0), atol=1e-12)
    np.testing.assert_allclose(w[down] - W0, (w_add[down] - W0) * W0, atol=1e-12)
    # a single pair: nearest pairing equals all-to-all pairing
    _, w_near = window_run(0.0, rule="nearest")
    np.testing.assert_array_equal(w_near, w_add)


@pytest.mark.parametrize("n_ranks,npc", [(2, 7), (3, 16)])
def test_window_rank_invariant(n_ranks, npc):
    ref = window_run(1.0)[1]
    np.testing.assert_array_equal(window_run(1.0, n_ranks, npc)[1], ref)


def learning_run(n_ranks, npc, t=2000.0, ddf=1.0):
    """100 Poisson inputs (half at 40 Hz, half at 5 Hz) into 10 cells, additive STDP."""
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
    sim.set_number_of_neurons_per_core(sim.SpikeSourcePoisson, npc)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, max(1, npc // 4))
    rates = np.repeat([40.0, 5.0], 50)
    inputs = sim.Population(100, sim.SpikeSourcePoisson(rate=rates))
    cells = sim.Population(10, sim.IF_curr_exp(tau_refrac=2.0, v_thresh=-54.0))
    rng = sim.NumpyRNG(seed=77)
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                            A_plus=0.01, A_minus=0.01),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.6),
        weight=sim.RandomDistribution("uniform", low=0.2, high=0.4, rng=rng),
        delay=sim.RandomDistribution("uniform", low=0.5, high=3.0, rng=rng),
        dendritic_delay_fraction=ddf)
    prj = sim.Projection(inputs, cells, sim.AllToAllConnector(), stdp,
                         receptor_type="excitatory")
    cells.record("spikes")
    sim.run(t)
    w = prj.get("weight", format="array")
    n_out = sum(len(s) for s in cells.get_data().segments[0].spiketrains)
    sim.end()
    return w, n_out


def test_high_rate_inputs_potentiate_more_and_weights_stay_bounded():
    w, n_out = learning_run(1, 256)
    assert n_out > 20
    high, low = w[:50].ravel(), w[50:].ravel()
    assert np.all((w >= 0.0) & (w <= 0.6))
    # Welch t statistic: the high-rate half ends clearly stronger
    t_stat = (high.mean() - low.mean()) / math.sqrt(high.var(ddof=1) / high.size
                                                     + low.var(ddof=1) / low.size)
    assert t_stat > 3.0, (high.mean(), low.mean(), t_stat)


def test_learned_weights_rank_invariant():
    ref, n_ref = learning_run(1, 256, t=500.0, ddf=0.0)
    w, n = learning_run(3, 16, t=500.0, ddf=0.0)
    assert n == n_ref
    np.testing.assert_array_equal(w, ref)


def test_gutig_and_additive_potentiation_multiplicative_depression():
    _, w_add = window_run(0.0)
    up, down = w_add > W0, w_add < W0
    _, w_g = window_run(0.0, weight_dependence=sim.GutigWeightDependence(
        w_min=0.0, w_max=1.0, mu_plus=0.3, mu_minus=0.7))
    np.testing.assert_allclose(w_g[up] - W0, (w_add[up] - W0) * (1 - W0) ** 0.3, atol=1e-12)
    np.testing.assert_allclose(w_g[down] - W0, (w_add[down] - W0) * W0 ** 0.7, atol=1e-12)
    _, w_m = window_run(0.0, weight_dependence=sim.AdditivePotentiationMultiplicativeDepression(
        w_min=0.0, w_max=1.0))
    np.testing.assert_allclose(w_m[up], w_add[up], atol=1e-12)
    np.testing.assert_allclose(w_m[down] - W0, (w_add[down] - W0) * W0, atol=1e-12)


def test_vogels_rule_is_symmetric():
    tau, eta, rho = 20.0, 0.005, 10.0
    sim.setup(timestep=0.1, quiet=True)
    offsets = np.array([-30.0, -10.0, -2.0, 2.0, 10.0, 30.0])
    n = offsets.size
    pre = sim.Population(n, sim.SpikeSourceArray(spike_times=[[100.0]] * n))
    drive = sim.Population(n, sim.SpikeSourceArray(
        spike_times=[[100.0 + o - 0.1] for o in offsets]))
    post = sim.Population(n, sim.IF_curr_delta(v_thresh=-60.0, tau_refrac=1000.0))
    sim.Projection(drive, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=10.0, delay=0.1))
    prj = sim.Projection(pre, post, sim.OneToOneConnector(), sim.STDPMechanism(
        timing_dependence=sim.Vogels2011Rule(tau=tau, eta=eta, rho=rho),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
        weight=0.5, delay=DELAY, dendritic_delay_fraction=1.0), receptor_type="excitatory")
    post.record("spikes")
    sim.run(200.0)
    t_post = np.array([st.magnitude[0] for st in post.get_data().segments[0].spiketrains])
    w = np.array([c[2] for c in prj.get("weight", format="list")])
    sim.end()
    dt_seen = (t_post + DELAY) - 100.0
    alpha = 2 * rho * tau / 1000.0
    np.testing.assert_allclose(w, 0.5 + eta * (np.exp(-np.abs(dt_seen) / tau) - alpha),
                               atol=1e-12)


def test_saved_weights_between_runs_are_rank_invariant(tmp_path):
    texts = []
    for n_ranks, npc in ((1, 256), (3, 16)):
        sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
        sim.set_number_of_neurons_per_core(sim.SpikeSourcePoisson, npc)
        sim.set_number_of_neurons_per_core(sim.IF_curr_exp, max(1, npc // 4))
        inputs = sim.Population(40, sim.SpikeSourcePoisson(rate=30.0))
        cells = sim.Population(6, sim.IF_curr_exp(v_thresh=-60.0))
        prj = sim.Projection(inputs, cells, sim.FixedProbabilityConnector(
            0.5, rng=sim.NumpyRNG(seed=5)), sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(A_plus=0.01, A_minus=0.012),
            weight_dependence=sim.MultiplicativeWeightDependence(w_min=0.0, w_max=1.0),
            weight=0.3, delay=1.0), receptor_type="excitatory")
        saved = []
        for i in range(3):
            sim.run(100.0)
            path = tmp_path / f"w{n_ranks}-{i}.txt"
            prj.save("all", str(path), format="list")
            saved.append(path.read_text())
        sim.end()
        texts.append(saved)
    assert texts[0] == texts[1]
    assert texts[0][0] != texts[0][2]                   # the weights did change
    assert "dendritic_delay_fraction" in texts[0][0]


@pytest.mark.parametrize("timing, weights, extra, message", [
    (dict(tau_plus=-20.0), {}, {}, r"Projection 'plastic': tau_plus=-20.0 ms must be positive"),
    (dict(A_plus=float("nan")), {}, {},
     r"Projection 'plastic': STDP parameter A_plus=nan must be a finite number"),
    ({}, dict(w_min=1.0, w_max=0.5), {}, r"Projection 'plastic': w_max=0.5 must exceed w_min=1.0"),
    ({}, {}, dict(dendritic_delay_fraction=1.5),
     r"STDPMechanism: dendritic_delay_fraction=1.5 must be a number in \[0, 1\]"),
])
def test_bad_stdp_parameters_are_refused_naming_the_projection(timing, weights, extra, message):
    sim.setup(timestep=0.1, quiet=True)
    try:
        pre = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
        post = sim.Population(2, sim.IF_curr_exp())
        td = {**dict(tau_plus=20.0, tau_minus=20.0, A_plus=0.01, A_minus=0.01), **timing}
        wd = dict(dict(w_min=0.0, w_max=1.0), **weights)
        with pytest.raises((NetworkError, ValueError), match=message):
            syn = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(**td),
                                    weight_dependence=sim.AdditiveWeightDependence(**wd),
                                    weight=0.5, delay=1.0, **extra)
            sim.Projection(pre, post, sim.AllToAllConnector(), syn, label="plastic")
            sim.run(1.0)
    finally:
        sim.end()
