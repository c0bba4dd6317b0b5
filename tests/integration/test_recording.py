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
