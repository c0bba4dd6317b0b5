"""Current sources with PyNN's timing semantics, changes between runs, views,
recording, and rank-count invariance."""
import numpy as np
import pytest

import spinn as sim


def v_of(pop):
    return np.asarray(pop.get_data("v").segments[-1].filter(name="v")[0].magnitude)


@pytest.fixture
def cells():
    sim.setup(timestep=0.1, quiet=True)
    pop = sim.Population(4, sim.IF_curr_exp(v_thresh=100.0, tau_m=10.0, cm=1.0))
    pop.record("v")
    yield pop
    sim.end()


def test_dc_on_at_start_changes_v_one_step_later(cells):
    dc = sim.DCSource(amplitude=0.5, start=5.0, stop=10.0)
    cells[1:3].inject(dc)               # a view
    dc.record()
    sim.run(20.0)
    v = v_of(cells)
    assert v.shape == (201, 4)
    np.testing.assert_array_equal(v[:51, :], -65.0)       # unchanged up to and at start
    assert np.all(v[51, 1:3] > -65.0)                     # changed one step later
    np.testing.assert_array_equal(v[:, [0, 3]], -65.0)    # cells not injected
    # closed form while on: v = v_rest + I R (1 - exp(-(t - start)/tau))
    t = np.arange(51, 101) * 0.1 - 5.0
    np.testing.assert_allclose(v[51:101, 1], -65.0 + 0.5 * 10.0 * (1 - np.exp(-t / 10.0)),
                               atol=1e-10)
    i = np.asarray(dc.get_data().magnitude).ravel()
    assert i.size == 201
    assert np.flatnonzero(i).tolist() == list(range(50, 100))


def test_amplitude_changed_between_runs(cells):
    dc = sim.DCSource(amplitude=0.2)
    cells.inject(dc)
    sim.run(10.0)
    dc.amplitude = -0.4
    assert dc.amplitude == -0.4
    sim.run(10.0)
    v = v_of(cells)[:, 0]
    assert v[100] > -65.0 and v[200] < v[100]


def test_step_source_rounding_and_errors(cells):
    step = sim.StepCurrentSource(times=[2.04, 2.06, 5.0], amplitudes=[0.1, 0.3, 0.0])
    cells.inject(step)
    step.record()
    sim.run(8.0)
    i = np.asarray(step.get_data().magnitude).ravel()
    # 2.06 rounds to 2.1; 2.04 to 2.0 (kept), 5.0 switches off
    np.testing.assert_allclose(i[19:23], [0.0, 0.1, 0.3, 0.3])
    assert i[50] == 0.0 and i[49] == 0.3
    with pytest.raises(ValueError, match="increase strictly"):
        sim.StepCurrentSource(times=[3.0, 1.0], amplitudes=[1.0, 2.0])
    with pytest.raises(ValueError, match="negative"):
        sim.StepCurrentSource(times=[-1.0], amplitudes=[1.0])


def test_ac_phase_at_start(cells):
    ac = sim.ACSource(amplitude=1.0, offset=0.5, frequency=100.0, phase=90.0, start=3.0)
    cells.inject(ac)
    ac.record()
    sim.run(10.0)
    i = np.asarray(ac.get_data().magnitude).ravel()
    assert i[29] == 0.0
    assert i[30] == pytest.approx(1.5)                    # sin(90°) at start
    assert i[30 + 25] == pytest.approx(0.5 + np.sin(np.pi / 2 + 2 * np.pi * 0.25))


def test_spike_source_cannot_be_injected():
    sim.setup(quiet=True)
    src = sim.Population(2, sim.SpikeSourcePoisson(rate=1.0))
    with pytest.raises(TypeError, match="spike source"):
        src.inject(sim.DCSource(amplitude=1.0))
    sim.end()


def _noisy_run(n_ranks):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 3)
    pop = sim.Population(8, sim.IF_curr_exp(v_thresh=-60.0, tau_refrac=1.0))
    noise = sim.NoisyCurrentSource(mean=0.5, stdev=2.0, dt=0.5)
    pop.inject(noise)
    pop.record(["spikes", "v"])
    sim.run(50.0)
    data = pop.get_data().segments[0]
    out = (np.asarray(data.filter(name="v")[0].magnitude),
           [st.magnitude for st in data.spiketrains])
    sim.end()
    return out


def test_noisy_source_is_rank_invariant_and_independent_per_cell():
    v1, s1 = _noisy_run(1)
    v3, s3 = _noisy_run(3)
    np.testing.assert_array_equal(v1, v3)
    for a, b in zip(s1, s3):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(v1[:, 0], v1[:, 1])          # independent noise per cell
    assert sum(len(s) for s in s1) > 0
