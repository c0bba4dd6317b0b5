"""Rank-count invariance: identical spikes, voltages and synapses on 1, 2 and 3
(virtual) ranks and for two slice sizes."""
import numpy as np
import pytest

import spinn as sim
from tests import networks


def run_mixed(n_ranks, npc):
    return networks.run_mixed(sim, npc, n_virtual_ranks=n_ranks)


@pytest.fixture(scope="module")
def reference():
    return run_mixed(1, None)


def test_reference_is_not_trivial(reference):
    spikes, v, conns, stats = reference
    assert sum(len(t) for t in spikes["exc"]) > 50
    assert sum(len(t) for t in spikes["delta"]) > 5
    # multiplicity: the 4 kHz burst sources give more spikes than steps active
    burst = np.concatenate(spikes["burst"])
    assert burst.size > 5 * 50 * 0.3
    assert len(np.unique(burst)) < burst.size
    assert v.shape == (1501, 120)
    assert len(conns["exc-exc"]) == 120 * 8


@pytest.mark.parametrize("n_ranks,npc", [(1, 7), (2, 64), (2, 7), (3, 13), (3, 256)])
def test_identical_results(reference, n_ranks, npc):
    spikes, v, conns, stats = run_mixed(n_ranks, npc)
    ref_spikes, ref_v, ref_conns, ref_stats = reference
    assert stats["ranks"] == n_ranks
    for label in ref_spikes:
        assert len(spikes[label]) == len(ref_spikes[label])
        for a, b in zip(spikes[label], ref_spikes[label]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(v, ref_v)          # bitwise, not approximately
    for label in ref_conns:
        np.testing.assert_array_equal(conns[label], ref_conns[label])
    assert stats["synapses"] == ref_stats["synapses"]


def test_more_ranks_than_slices_and_tiny_population():
    """A 1-neuron population on 3 ranks, with ranks left idle, still works."""
    results = []
    for n_ranks in (1, 3):
        sim.setup(timestep=0.1, n_virtual_ranks=n_ranks, quiet=True)
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 2.0, 3.0]))
        one = sim.Population(1, sim.IF_curr_exp(i_offset=0.0))
        sim.Projection(src, one, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=5.0, delay=0.1))
        one.record(["spikes", "v"])
        sim.run(20.0)
        seg = one.get_data().segments[0]
        results.append((seg.spiketrains[0].magnitude.copy(),
                        seg.filter(name="v")[0].magnitude.copy()))
        sim.end()
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert len(results[0][0]) >= 1


def _sampled(seed=None, rng=None):
    sim.setup(timestep=0.1, quiet=True, **({} if seed is None else {"rng_seed": seed}))
    pop = sim.Population(200, sim.IF_curr_exp())
    samples = [np.sort(pop.id_to_index(pop.sample(20, rng).all_cells)) for _ in range(2)]
    view = np.sort(pop.id_to_index(pop[50:].sample(5, rng).all_cells))
    sim.end()
    return samples, view


def test_unseeded_sample_is_the_same_in_every_process():
    """Population.sample(n) without a seeded rng (PyNN seeds a NumpyRNG() from the
    operating system, different in each MPI process; brunel.py records
    ``E_net.sample(50)``) draws from the network seed (``setup(rng_seed=...)``): the same cells on every rank,
    different cells for successive samples."""
    (first, second), view = _sampled()
    again, view_again = _sampled()
    np.testing.assert_array_equal(first, again[0])
    np.testing.assert_array_equal(second, again[1])
    np.testing.assert_array_equal(view, view_again)
    assert len(set(first)) == 20 and not np.array_equal(first, second)
    assert np.all(view >= 50)
    other, _ = _sampled(seed=12345)
    assert not np.array_equal(first, other[0])
    # a seeded generator is the script's choice, used as given
    seeded, _ = _sampled(rng=sim.NumpyRNG(seed=7))
    expected = np.sort(sim.NumpyRNG(seed=7).permutation(np.arange(200))[:20])
    np.testing.assert_array_equal(seeded[0], expected)
