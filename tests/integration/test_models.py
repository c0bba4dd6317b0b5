"""Numerical checks of the cell models against closed forms, through the whole
pipeline (PyNN API -> mapping -> rank image -> step loop -> get_data)."""
import math

import numpy as np
import pytest

import spinn as sim


def v_trace(pop):
    return np.asarray(pop.get_data("v").segments[0].filter(name="v")[0].magnitude)


def spike_times(pop):
    return [np.asarray(st.magnitude) for st in pop.get_data("spikes").segments[0].spiketrains]


@pytest.fixture(autouse=True)
def fresh():
    sim.setup(timestep=0.1, quiet=True)
    yield
    sim.end()


def test_curr_exp_psp_matches_closed_form():
    tau_m, tau_s, cm, w, v_rest = 20.0, 5.0, 0.5, 2.0, -65.0
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    cell = sim.Population(1, sim.IF_curr_exp(tau_m=tau_m, cm=cm, tau_syn_E=tau_s,
                                              v_rest=v_rest, v_thresh=0.0))
    sim.Projection(src, cell, sim.OneToOneConnector(), sim.StaticSynapse(weight=w, delay=1.0))
    cell.record("v")
    sim.run(60.0)
    v = v_trace(cell)[:, 0]
    assert v.shape == (601,)
    t = np.arange(601) * 0.1
    t0 = 11.0                                  # spike time + delay
    expected = np.full_like(t, v_rest)
    after = t > t0 + 1e-9
    s = t[after] - t0
    expected[after] += (w / cm * tau_s * tau_m / (tau_m - tau_s)
                        * (np.exp(-s / tau_m) - np.exp(-s / tau_s)))
    np.testing.assert_array_equal(v[t <= t0 + 1e-9], v_rest)   # nothing before arrival
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-10)
    peak_t = t0 + math.log(tau_m / tau_s) * tau_m * tau_s / (tau_m - tau_s)
    assert abs(t[np.argmax(v)] - peak_t) <= 0.1


def test_curr_exp_equal_time_constants_limit():
    """tau_syn == tau_m uses the limit of the propagator (no division by zero)."""
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    cell = sim.Population(1, sim.IF_curr_exp(tau_m=10.0, tau_syn_E=10.0, cm=1.0, v_rest=0.0,
                                             v_reset=0.0, v_thresh=100.0),
                          initial_values={"v": 0.0})
    sim.Projection(src, cell, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0, delay=0.1))
    cell.record("v")
    sim.run(30.0)
    v = v_trace(cell)[:, 0]
    t = np.arange(v.size) * 0.1
    s = np.clip(t - 1.1, 0, None)
    np.testing.assert_allclose(v, s * np.exp(-s / 10.0), atol=1e-10)


def test_constant_current_isi_and_refractory_clamp():
    tau_m, cm, I, v_rest, v_thresh, v_reset, t_ref = 10.0, 0.25, 1.0, -70.0, -55.0, -75.0, 2.0
    cell = sim.Population(1, sim.IF_curr_exp(tau_m=tau_m, cm=cm, i_offset=I, v_rest=v_rest,
                                             v_thresh=v_thresh, v_reset=v_reset,
                                             tau_refrac=t_ref),
                          initial_values={"v": v_rest})
    cell.record(["spikes", "v"])
    sim.run(100.0)
    spikes = spike_times(cell)[0]
    v = v_trace(cell)[:, 0]
    R = tau_m / cm
    first = -tau_m * math.log(1 - (v_thresh - v_rest) / (I * R))
    np.testing.assert_allclose(spikes[0], math.ceil(first / 0.1) * 0.1, atol=1e-9)
    # free trajectory before the first spike is the exact exponential
    t = np.arange(v.size) * 0.1
    pre = t < spikes[0] - 1e-9
    np.testing.assert_allclose(v[pre], v_rest + I * R * (1 - np.exp(-t[pre] / tau_m)),
                               atol=1e-10)
    # later spikes: refractory steps + first crossing from v_reset
    from_reset = -tau_m * math.log((v_rest + I * R - v_thresh) / (v_rest + I * R - v_reset))
    isi = (round(t_ref / 0.1) + math.ceil(from_reset / 0.1)) * 0.1
    np.testing.assert_allclose(np.diff(spikes), isi, atol=1e-9)
    # during the refractory period v is clamped at v_reset
    k = int(round(spikes[0] / 0.1))
    np.testing.assert_array_equal(v[k:k + round(t_ref / 0.1) + 1], v_reset)


def test_curr_delta_jump_and_decay():
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    cell = sim.Population(1, sim.IF_curr_delta(tau_m=10.0, v_rest=-65.0, v_thresh=-50.0))
    sim.Projection(src, cell, sim.OneToOneConnector(), sim.StaticSynapse(weight=3.0, delay=2.0))
    cell.record("v")
    sim.run(30.0)
    v = v_trace(cell)[:, 0]
    t = np.arange(v.size) * 0.1
    expected = np.where(t >= 7.0 - 1e-9, -65.0 + 3.0 * np.exp(-(t - 7.0) / 10.0), -65.0)
    np.testing.assert_allclose(v, expected, atol=1e-10)


def test_spike_source_array_times_on_grid_and_causality():
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 2.56, 7.0], [3.0]]))
    cell = sim.Population(2, sim.IF_curr_delta(v_thresh=-64.5, v_rest=-65.0, v_reset=-65.0,
                                               tau_refrac=0.0))
    sim.Projection(src, cell, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0, delay=0.3))
    src.record("spikes")
    cell.record("spikes")
    sim.run(10.0)
    s = spike_times(src)
    np.testing.assert_allclose(s[0], [1.0, 2.6, 7.0])   # 2.56 rounds to the grid
    np.testing.assert_allclose(s[1], [3.0])
    c = spike_times(cell)
    np.testing.assert_allclose(c[0], np.array([1.0, 2.6, 7.0]) + 0.3)  # exactly one delay later
    np.testing.assert_allclose(c[1], [3.3])


def test_poisson_rate_and_multiplicity():
    low = sim.Population(200, sim.SpikeSourcePoisson(rate=50.0))
    high = sim.Population(50, sim.SpikeSourcePoisson(rate=20000.0, start=100.0, duration=50.0))
    low.record("spikes")
    high.record("spikes")
    sim.run(1000.0)
    n_low = sum(len(t) for t in spike_times(low))
    assert abs(n_low - 200 * 50.0) < 5 * math.sqrt(200 * 50.0)
    trains = spike_times(high)
    n_high = sum(len(t) for t in trains)
    expected = 50 * 20000.0 * 0.05          # rate x duration: counts with multiplicity
    assert abs(n_high - expected) < 5 * math.sqrt(expected)
    allt = np.concatenate(trains)
    assert allt.min() > 100.0 and allt.max() <= 150.0 + 1e-9


def test_sampling_interval_and_repeated_runs():
    cell = sim.Population(3, sim.IF_curr_exp(i_offset=0.5))
    cell.record("v", sampling_interval=1.0)
    sim.run(10.0)
    sim.run(5.0)
    sim.run_until(20.0)
    assert sim.get_current_time() == pytest.approx(20.0)
    sig = cell.get_data("v").segments[0].filter(name="v")[0]
    assert sig.shape == (21, 3)
    assert float(sig.sampling_period.magnitude) == 1.0
    np.testing.assert_array_equal(sig.array_annotations["channel_index"], [0, 1, 2])


def test_poisson_isis_are_exponential():
    stats = pytest.importorskip("scipy.stats")
    rate = 100.0
    src = sim.Population(200, sim.SpikeSourcePoisson(rate=rate))
    src.record("spikes")
    sim.run(3000.0)
    isis = np.concatenate([np.diff(t) for t in spike_times(src)])
    assert isis.size > 50_000
    d, p = stats.kstest(isis, "expon", args=(0.0, 1000.0 / rate))
    assert d < 0.02, d
    assert abs(isis.mean() - 1000.0 / rate) < 0.1
