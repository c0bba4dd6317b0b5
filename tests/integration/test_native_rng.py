"""sim.NativeRNG: PyNN's simulator-native generator, on spinn's keyed streams."""
import numpy as np
import pyNN.random

import spinn as sim


def weights(rng, n_ranks=1, seed=None):
    kwargs = {} if seed is None else {"rng_seed": seed}
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks, **kwargs)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 4)
    a, b = sim.Population(10, sim.IF_curr_exp()), sim.Population(10, sim.IF_curr_exp())
    prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.5, rng=rng),
                         sim.StaticSynapse(weight=sim.RandomDistribution(
                             "normal", mu=0.5, sigma=0.01, rng=rng), delay=0.5))
    w = prj.get("weight", format="array")
    sim.end()
    return w


def test_native_rng_is_pynns_and_rank_invariant():
    rng = sim.NativeRNG(seed=87354762)
    assert isinstance(rng, pyNN.random.NativeRNG)
    w1 = weights(rng)
    w3 = weights(sim.NativeRNG(seed=87354762), n_ranks=3)
    np.testing.assert_array_equal(w3, w1)
    connected = ~np.isnan(w1)
    assert 20 < connected.sum() < 80
    assert np.all(np.abs(w1[connected] - 0.5) < 0.06)
    assert not np.array_equal(np.isnan(weights(sim.NativeRNG(seed=1))), ~connected)


def test_unseeded_native_rng_follows_the_network_seed():
    a = weights(sim.NativeRNG(), seed=5)
    b = weights(sim.NativeRNG(), seed=5)
    c = weights(sim.NativeRNG(), seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.isnan(a), np.isnan(c))


def test_direct_draws():
    sim.setup(quiet=True)
    x, y = sim.NativeRNG(seed=3), sim.NativeRNG(seed=3)
    first = x.next(1000)
    np.testing.assert_array_equal(first, y.next(1000))         # the same sequence
    assert not np.array_equal(x.next(1000), first)             # and it moves on
    assert 0.0 <= first.min() and first.max() < 1.0 and abs(first.mean() - 0.5) < 0.05
    assert isinstance(x.next(), float)
    normal = sim.RandomDistribution("normal", (10.0, 2.0), rng=x).next(2000)
    assert abs(normal.mean() - 10.0) < 0.3 and abs(normal.std() - 2.0) < 0.3
    np.testing.assert_array_equal(x.next(5, mask=np.array([0, 2])).shape, (2,))
    sim.end()
