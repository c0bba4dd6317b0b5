"""Recording semantics PyNN users rely on: neo annotations, write_data, clear, reset."""
import pickle

import numpy as np
import pytest

import spinn as sim


@pytest.fixture
def driven():
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=2)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 3)
    cells = sim.Population(7, sim.IF_curr_exp(i_offset=np.linspace(0.5, 1.5, 7)),
                           label="driven")
    yield cells
    sim.end()


def test_neo_annotations(driven):
    driven[2:5].record(["spikes", "v"])
    sim.run(50.0)
    seg = driven.get_data().segments[0]
    assert [st.annotations["source_index"] for st in seg.spiketrains] == [2, 3, 4]
    v = seg.filter(name="v")[0]
    np.testing.assert_array_equal(v.array_annotations["channel_index"], [2, 3, 4])
    assert v.shape == (501, 3)
    # more current, earlier first spike
    firsts = [st[0] for st in seg.spiketrains]
    assert firsts[0] > firsts[1] > firsts[2]


def test_write_data_roundtrip(driven, tmp_path):
    driven.record("spikes")
    sim.run(40.0)
    path = tmp_path / "out.pkl"
    driven.write_data(str(path))
    block = pickle.load(open(path, "rb"))
    written = [np.asarray(st.magnitude) for st in block.segments[0].spiketrains]
    live = [np.asarray(st.magnitude) for st in driven.get_data().segments[0].spiketrains]
    assert len(written) == 7 and sum(map(len, written)) > 0
    for a, b in zip(written, live):
        np.testing.assert_array_equal(a, b)


def test_get_data_clear(driven):
    driven.record("spikes")
    sim.run(30.0)
    first = driven.get_data(clear=True).segments[0]
    assert sum(len(st) for st in first.spiketrains) > 0
    sim.run(30.0)
    second = driven.get_data().segments[0]
    assert all(np.all(st.magnitude > 30.0) for st in second.spiketrains)


def test_reset_gives_a_new_identical_segment(driven):
    driven.record(["spikes", "v"])
    sim.run(25.0)
    sim.reset()
    assert sim.get_current_time() == 0.0
    sim.run(25.0)
    block = driven.get_data()
    assert len(block.segments) == 2
    for a, b in zip(block.segments[0].spiketrains, block.segments[1].spiketrains):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
    np.testing.assert_array_equal(block.segments[0].filter(name="v")[0].magnitude,
                                  block.segments[1].filter(name="v")[0].magnitude)


def test_min_delay_auto_is_the_smallest_delay():
    sim.setup(timestep=0.1, quiet=True)
    a = sim.Population(3, sim.SpikeSourcePoisson(rate=1.0))
    b = sim.Population(3, sim.IF_curr_exp())
    sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=0.5))
    sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=1.5))
    assert sim.get_min_delay() == pytest.approx(0.1)      # before the build: the timestep
    sim.run(1.0)
    assert sim.get_min_delay() == pytest.approx(0.5)
    sim.end()


def _set_run(n_ranks):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 5)
    src = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0))
    dst = sim.Population(12, sim.IF_curr_exp(v_thresh=-60.0))
    prj = sim.Projection(src, dst, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(seed=3)),
                         sim.StaticSynapse(weight=0.1, delay=1.0))
    dst.record("spikes")
    sim.run(20.0)
    prj.set(weight=sim.RandomDistribution("uniform", low=0.5, high=1.0))
    prj.randomizeDelays(sim.RandomDistribution("uniform", low=0.1, high=12.0))
    sim.run(40.0)
    w, d = prj.get(["weight", "delay"], format="array")
    spikes = [st.magnitude for st in dst.get_data().segments[0].spiketrains]
    sim.end()
    return w, d, spikes


def test_projection_set_between_runs_is_rank_invariant():
    w1, d1, s1 = _set_run(1)
    w3, d3, s3 = _set_run(3)
    np.testing.assert_array_equal(w1, w3)
    np.testing.assert_array_equal(d1, d3)
    for a, b in zip(s1, s3):
        np.testing.assert_array_equal(a, b)
    present = ~np.isnan(w1)
    assert present.sum() > 50
    assert np.all((w1[present] >= 0.5) & (w1[present] <= 1.0))
    assert d1[present].max() > 5.0          # the ring buffer grew for longer delays
    assert np.isclose(d1[present] * 10, np.rint(d1[present] * 10)).all()
    assert sum(len(s) for s in s1) > 0


def test_get_data_with_heterogeneous_parameters():
    """numpy's probing of ID lists once recursed through PyNN's parameter lookup."""
    import signal

    def too_slow(*_):
        raise TimeoutError("get_data took more than 20 s")
    old = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(20)
    try:
        sim.setup(timestep=0.1, quiet=True)
        n = 30
        pop = sim.Population(n, sim.Izhikevich(a=np.linspace(0.02, 0.1, n),
                                               d=np.linspace(2.0, 8.0, n),
                                               i_offset=np.linspace(0.0, 0.01, n)))
        pop.record(["spikes", "v"])
        sim.run(50.0)
        block = pop.get_data()
        assert len(block.segments[0].spiketrains) == n
        assert block.segments[0].filter(name="v")[0].shape == (501, n)
        sim.end()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
