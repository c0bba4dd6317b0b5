"""Recording by index arrays: no Python object per recorded cell.

PyNN's generic recorder keeps a set of ID objects per variable; spinn keeps
sorted indices (``CellSet``), so recording a whole population costs nothing
per cell and recording ``k`` cells of a view costs O(k). The rest checks that
PyNN's recording semantics are unchanged.
"""
import sys
import time

import numpy as np
import pytest

import spinn as sim
from spinn.pynn.recording import CellSet
from spinn.pynn.simulator import state


def _blocks_and_seconds(fn):
    """Python memory blocks left allocated by ``fn()`` (one per ID object it
    keeps; numpy's large buffers are not pymalloc blocks) and its time."""
    import gc
    gc.collect()
    before = sys.getallocatedblocks()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    gc.collect()
    return sys.getallocatedblocks() - before, seconds, out


def _traced_bytes(fn):
    """Peak bytes allocated while ``fn()`` runs (numpy reports its buffers to
    tracemalloc, so an array of N int64 would show as 8 N bytes)."""
    import tracemalloc
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_recording_a_hundred_million_cells_costs_nothing_per_cell():
    sim.setup(timestep=0.1, quiet=True)
    try:
        pop = sim.Population(10**8, sim.IF_curr_exp(), label="huge")
        blocks, seconds, _ = _blocks_and_seconds(lambda: pop.record(["spikes", "v"]))
        assert blocks < 2000, blocks            # 10^8 ID objects would be 10^8 blocks
        assert not state.built                  # nothing was built or run
        assert pop.all_cells._cells is None     # and no ID objects made
        for name in ("spikes", "v"):
            spec = pop._spec.record[name]       # one [start, stop) run: two numbers
            assert spec.count == 10**8 and spec.runs.tolist() == [[0, 10**8]]
        assert pop._spec.record["v"].runs is pop._spec.record["spikes"].runs
        cells = pop.recorder.recorded[next(v for v in pop.recorder.recorded
                                           if v.name == "spikes")]
        assert cells.all and len(cells) == 10**7 * 10 and pop[123] in cells
        # recording the same cells again, or a view of them, adds nothing
        blocks, seconds, _ = _blocks_and_seconds(lambda: pop[10:20].record("spikes"))
        assert blocks < 2000
        assert pop._spec.record["spikes"].runs.tolist() == [[0, 10**8]]
        pop.record(None)
        assert pop._spec.record == {}
        # and in bytes: 10^8 indices would be 800 MB, PyNN's set of IDs more
        peak = _traced_bytes(lambda: pop.record(["spikes", "v"]))
        assert peak < 2_000_000, peak
    finally:
        sim.end()


def test_a_slice_of_cells_is_one_run_and_scattered_cells_cost_o_of_k():
    sim.setup(timestep=0.1, quiet=True)
    try:
        pop = sim.Population(10**8, sim.IF_curr_exp())
        peak = _traced_bytes(lambda: pop[1000:5 * 10**7].record("v"))
        assert pop._spec.record["v"].runs.tolist() == [[1000, 5 * 10**7]]
        assert peak < 2_000_000, peak       # a slice view holds no array of its ids
        view = pop[10:20][2:5]              # a view of a view, still consecutive
        assert [int(c) for c in view] == [int(pop[12]), int(pop[13]), int(pop[14])]
        assert view.id_to_index(pop[13]) == 1 and list(view._root_indices()) == [12, 13, 14]
        idx = np.array([7, 3, 4, 5, 10**8 - 1, 9])
        peak = _traced_bytes(lambda: pop[idx].record("spikes"))
        assert pop._spec.record["spikes"].runs.tolist() == [[3, 6], [7, 8], [9, 10],
                                                             [10**8 - 1, 10**8]]
        assert peak < 2_000_000, peak
    finally:
        sim.end()


@pytest.mark.parametrize("how", ["index", "sample"])
def test_recording_k_of_n_cells_costs_o_of_k(how):
    """The same k cells of 10^3 and of 10^7 neurons: recording them leaves
    the same few objects."""
    k = 500
    costs = []
    for n in (10**3, 10**7):
        sim.setup(timestep=0.1, quiet=True)
        try:
            pop = sim.Population(n, sim.IF_curr_exp())
            if how == "index":
                idx = np.random.default_rng(1).choice(n, size=k, replace=False)
                view = pop[idx]
            else:
                view = pop.sample(k, rng=sim.NumpyRNG(seed=3))
            blocks, seconds, _ = _blocks_and_seconds(lambda: view.record("spikes"))
            assert not state.built
            expected = np.sort(view.mask if how == "sample" else idx)
            np.testing.assert_array_equal(pop._spec.record["spikes"].indices, expected)
            assert pop._spec.record["spikes"].count == k
            costs.append((blocks, seconds))
        finally:
            sim.end()
    (small_blocks, small_s), (big_blocks, big_s) = costs
    assert big_blocks < small_blocks + 200, costs


def test_cell_set_behaves_like_the_set_of_ids():
    sim.setup(timestep=0.1, quiet=True)
    try:
        pop = sim.Population(10, sim.IF_curr_exp())
        other = sim.Population(5, sim.IF_curr_exp())
        empty = CellSet(pop)
        assert not empty and len(empty) == 0 and list(empty) == []
        some = CellSet.of_ids(pop, [pop[3], pop[1], pop[3]])
        assert len(some) == 2 and pop[1] in some and pop[2] not in some
        assert other[1] not in some and "x" not in some
        assert list(some) == [pop[1], pop[3]] and set(some) == {pop[1], pop[3]}
        assert some == {pop[1], pop[3]}
        every = CellSet.of_ids(pop, pop.all_cells)
        assert every.all and len(every) == 10 and pop[9] in every
        assert (some | every).all and (some & every) == some and len(every - some) == 8
        assert CellSet.of_ids(pop, pop[0:10].all_cells).all      # all 10: stored as "all"
        assert len(CellSet.of_ids(pop, other.all_cells)) == 0    # other populations' ids
        np.testing.assert_array_equal(some.gids, [int(pop[1]), int(pop[3])])
        np.testing.assert_array_equal((CellSet.of_ids(pop, pop[2:6].all_cells)
                                       - some).indices, [2, 4, 5])
    finally:
        sim.end()


@pytest.fixture
def driven():
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=2)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 3)
    cells = sim.Population(8, sim.IF_curr_exp(i_offset=np.linspace(0.9, 1.6, 8)),
                           label="driven")
    yield cells
    sim.end()


def test_more_cells_after_a_run_and_record_none(driven):
    driven[0:2].record("spikes")
    sim.run(40.0)
    driven[[5, 6]].record("spikes")              # more cells, from now on
    sim.run(40.0)
    trains = driven.get_data("spikes").segments[0].spiketrains
    assert [st.annotations["source_index"] for st in trains] == [0, 1, 5, 6]
    assert [st.annotations["channel_id"] for st in trains] == [
        int(driven[i]) for i in (0, 1, 5, 6)]
    assert all(len(st) for st in trains)
    assert min(trains[2].magnitude) > 40.0       # recorded since t = 40 ms only
    assert min(trains[0].magnitude) < 40.0
    driven.record(None)                          # stop recording
    assert driven._spec.record == {}
    sim.run(10.0)
    assert driven.get_data().segments[0].spiketrains == [] or all(
        len(st) == 0 for st in driven.get_data().segments[0].spiketrains)


def test_views_filter_get_data_counts_and_means(driven):
    driven.record(["spikes", "v"], sampling_interval=0.5)
    sim.run(60.0)
    whole = driven.get_data().segments[0]
    view = driven[[1, 4, 6]]
    part = view.get_data().segments[0]
    assert [st.annotations["source_index"] for st in part.spiketrains] == [1, 4, 6]
    for st in part.spiketrains:
        np.testing.assert_array_equal(
            st.magnitude, whole.spiketrains[st.annotations["source_index"]].magnitude)
    v_all, v_part = whole.filter(name="v")[0], part.filter(name="v")[0]
    assert v_all.shape == (121, 8) and v_part.shape == (121, 3)
    assert float(v_all.sampling_period) == 0.5
    np.testing.assert_array_equal(v_part.array_annotations["channel_index"], [1, 4, 6])
    np.testing.assert_array_equal(v_part.annotations["channel_ids"],
                                  [int(driven[i]) for i in (1, 4, 6)])
    np.testing.assert_array_equal(v_part.magnitude, v_all.magnitude[:, [1, 4, 6]])
    counts = driven.get_spike_counts()
    assert counts == {int(driven[i]): len(st) for i, st in enumerate(whole.spiketrains)}
    assert view.get_spike_counts() == {int(driven[i]): counts[int(driven[i])]
                                       for i in (1, 4, 6)}
    assert driven.mean_spike_count() == pytest.approx(sum(counts.values()) / 8)
    assert view.mean_spike_count() == pytest.approx(
        sum(counts[int(driven[i])] for i in (1, 4, 6)) / 3)


def test_assembly_of_views_records_by_index(driven, tmp_path):
    other = sim.Population(4, sim.IF_curr_exp(i_offset=1.2), label="other")
    assembly = driven[2:4] + other[[0, 3]]
    assembly.record(["spikes", "v"])
    np.testing.assert_array_equal(driven._spec.record["v"].indices, [2, 3])
    np.testing.assert_array_equal(other._spec.record["spikes"].indices, [0, 3])
    sim.run(30.0)
    block = assembly.get_data()
    trains = block.segments[0].spiketrains
    assert len(trains) == 4
    assert sum(len(st) for st in trains) == sum(assembly.get_spike_counts().values()) > 0
    path = tmp_path / "views.pkl"
    driven[2:4].write_data(str(path))
    import pickle
    written = pickle.load(open(path, "rb")).segments[0]
    assert [st.annotations["source_index"] for st in written.spiketrains] == [2, 3]
    assert written.filter(name="v")[0].shape == (301, 2)


def test_segment_is_the_one_pyNN_builds(driven):
    """The index-array segment against PyNN's generic ``_get_current_segment``
    (which walks the cells as ID objects) on the same recorder."""
    from pyNN import recording
    driven[[0, 2, 3, 7]].record(["spikes", "v"])
    sim.run(50.0)
    recorder = driven.recorder
    for filter_ids in (None, driven[[2, 5, 7]].all_cells):
        ours = recorder._get_current_segment(filter_ids=filter_ids)
        theirs = recording.Recorder._get_current_segment(recorder, filter_ids=filter_ids)
        assert ours.name == theirs.name and ours.description == theirs.description
        assert len(ours.spiketrains) == len(theirs.spiketrains) > 0
        for a, b in zip(ours.spiketrains, theirs.spiketrains):
            np.testing.assert_array_equal(a.magnitude, b.magnitude)
            assert a.annotations == b.annotations
            assert (a.t_start, a.t_stop, a.units) == (b.t_start, b.t_stop, b.units)
        (a,), (b,) = ours.analogsignals, theirs.analogsignals
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
        assert (a.name, a.units, a.t_start, a.sampling_period) == (
            b.name, b.units, b.t_start, b.sampling_period)
        np.testing.assert_array_equal(a.annotations.pop("channel_ids"),
                                      b.annotations.pop("channel_ids"))
        assert a.annotations == b.annotations
        np.testing.assert_array_equal(a.array_annotations["channel_index"],
                                      b.array_annotations["channel_index"])
