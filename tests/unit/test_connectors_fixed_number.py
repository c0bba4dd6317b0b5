"""FixedNumberPost and FixedTotalNumber: generated per post block, the same
synapses whatever blocks a rank asks for and in whatever order, exact counts,
and uniform choices."""
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import stats

from spinn.connectors import (SYNAPSE_BLOCK, FixedNumberPost, FixedTotalNumber, Geometry,
                              Streams, block_range)
from spinn.connectors.fixed_number import distinct_sorted, hypergeometric
from spinn.errors import NetworkError
from spinn.network import GidRange


def geometry(kind, n_pre=150, n_post=200):
    """Projection sides: separate populations, one population onto itself,
    or gid arrays (shuffled) that share only part of their neurons."""
    if kind == "disjoint":
        return Geometry("disjoint", GidRange(0, n_pre), GidRange(n_pre, n_post))
    if kind == "same":
        return Geometry("same", GidRange(10, n_pre), GidRange(10, n_pre))
    rng = np.random.default_rng(5)
    pre = rng.permutation(np.arange(1000, 1000 + n_pre, dtype=np.int64))
    # the first 60 post neurons are also pre neurons, the rest are not
    post = rng.permutation(np.r_[np.arange(1000 + n_pre - 60, 1000 + n_pre),
                                 np.arange(5000, 5000 + n_post - 60)].astype(np.int64))
    return Geometry("partial", pre, post)


def n_blocks(g):
    return -(-g.n_post // SYNAPSE_BLOCK)


def generate(connector, g, blocks, streams):
    return {b: connector.generate(g, *block_range(b, g.n_post), streams) for b in blocks}


def whole(connector, g, streams):
    parts = generate(connector, g, range(n_blocks(g)), streams)
    pre = np.concatenate([parts[b].pre for b in sorted(parts)])
    post = np.concatenate([parts[b].post for b in sorted(parts)])
    return pre, post


CONNECTORS = [
    FixedNumberPost(9),
    FixedNumberPost(9, with_replacement=True),
    FixedNumberPost(9, allow_self_connections=False),
    FixedNumberPost(30, with_replacement=True, allow_self_connections=False),
    FixedTotalNumber(2000),
    FixedTotalNumber(2000, with_replacement=False),
    FixedTotalNumber(2000, allow_self_connections=False),
    FixedTotalNumber(2000, with_replacement=False, allow_self_connections=False),
]
KINDS = ["disjoint", "same", "partial"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("connector", CONNECTORS, ids=repr)
def test_blocks_are_the_same_in_any_order_and_subset(connector, kind):
    streams = Streams(42, 3)
    g = geometry(kind)
    forward = generate(connector, g, range(n_blocks(g)), streams)
    # reverse order on the same geometry (the cached tree path is reused)
    backward = generate(connector, g, reversed(range(n_blocks(g))), streams)
    # a few blocks alone, on a fresh geometry, as another rank would
    some = generate(connector, geometry(kind), [n_blocks(g) - 1, 1], Streams(42, 3))
    assert sum(len(block) for block in forward.values()) > 0
    for b, block in forward.items():
        assert_array_equal(backward[b].pre, block.pre)
        assert_array_equal(backward[b].post, block.post)
    for b, block in some.items():
        assert_array_equal(forward[b].pre, block.pre)
        assert_array_equal(forward[b].post, block.post)
    # another projection id is another network
    other = generate(connector, g, [0], Streams(42, 4))[0]
    assert not (other.pre.size == forward[0].pre.size and np.array_equal(other.pre, forward[0].pre))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("connector", CONNECTORS, ids=repr)
def test_blocks_are_sorted_inside_their_range_and_footprint(connector, kind):
    g = geometry(kind)
    for b, block in generate(connector, g, range(n_blocks(g)), Streams(1, 2)).items():
        lo, hi = block_range(b, g.n_post)
        assert block.pre.dtype == np.int64 and block.post.dtype == np.int64
        assert np.all((block.post >= lo) & (block.post < hi))
        assert np.all((block.pre >= 0) & (block.pre < g.n_pre))
        order = np.lexsort((block.pre, block.post))
        assert_array_equal(order, np.arange(len(block)))
        reach = connector.footprint(g, lo, hi)
        inside = np.zeros(block.pre.size, dtype=bool)
        for start, end in reach:
            inside |= (block.pre >= start) & (block.pre < end)
        assert inside.all()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("connector", CONNECTORS, ids=repr)
def test_counts_are_exact_and_self_connections_excluded(connector, kind):
    g = geometry(kind)
    pre, post = whole(connector, g, Streams(7, 1))
    assert pre.size == connector.expected_synapses(g)
    if isinstance(connector, FixedNumberPost):
        assert_array_equal(np.bincount(pre, minlength=g.n_pre), connector.n)
    else:
        assert pre.size == connector.n
    pairs = pre * g.n_post + post
    if not connector.with_replacement:
        assert np.unique(pairs).size == pairs.size
    if not connector.allow_self_connections:
        assert not np.any(np.asarray(g.pre)[pre] == np.asarray(g.post)[post])


def test_with_replacement_makes_repeated_pairs():
    g = geometry("disjoint", n_pre=50, n_post=70)
    pre, post = whole(FixedNumberPost(60, with_replacement=True), g, Streams(3, 3))
    pairs = pre * g.n_post + post
    assert np.unique(pairs).size < pairs.size
    # repeated pairs are adjacent (sorted by post, then pre)
    assert np.all(np.diff(post) >= 0)


def test_self_connections_occur_when_allowed():
    g = geometry("same", n_pre=100)
    pre, post = whole(FixedNumberPost(50), g, Streams(3, 3))
    assert np.any(pre == post)
    pre, post = whole(FixedTotalNumber(5000), g, Streams(3, 3))
    assert np.any(pre == post)


def test_fixed_number_post_every_target_when_n_is_the_pool():
    g = geometry("same", n_pre=80)
    pre, post = whole(FixedNumberPost(79, allow_self_connections=False), g, Streams(1, 1))
    assert pre.size == 80 * 79
    assert not np.any(pre == post)
    assert_array_equal(np.bincount(post, minlength=80), 79)


def test_fixed_number_post_n_beyond_the_pool_is_an_error():
    g = geometry("same", n_pre=80)
    with pytest.raises(NetworkError, match=r"n=80.*pool has only 79"):
        FixedNumberPost(80, allow_self_connections=False).generate(g, 0, 64, Streams(1, 1))
    with pytest.raises(NetworkError, match=r"n=81.*pool has only 80"):
        FixedNumberPost(81).generate(g, 0, 64, Streams(1, 1))
    # with replacement, a lone neuron projecting onto itself has no target at all
    lone = Geometry("lone", GidRange(0, 1), GidRange(0, 1))
    with pytest.raises(NetworkError, match="a target"):
        FixedNumberPost(3, with_replacement=True, allow_self_connections=False).generate(
            lone, 0, 1, Streams(1, 1))
    assert len(FixedNumberPost(3, with_replacement=True).generate(lone, 0, 1, Streams(1, 1))) == 3


def test_fixed_total_number_beyond_the_pool_is_an_error():
    g = geometry("same", n_pre=10)
    with pytest.raises(NetworkError, match=r"n=91.*only 90"):
        FixedTotalNumber(91, with_replacement=False, allow_self_connections=False).generate(
            g, 0, 10, Streams(1, 1))
    pre, post = whole(FixedTotalNumber(90, with_replacement=False, allow_self_connections=False),
                      g, Streams(1, 1))
    assert pre.size == 90 and not np.any(pre == post)


def test_bad_n_is_rejected():
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError):
            FixedNumberPost(bad)
        with pytest.raises(ValueError):
            FixedTotalNumber(bad)


# -- statistics (fixed seeds: these outcomes are deterministic) ------------------------

@pytest.mark.parametrize("with_replacement", [False, True])
@pytest.mark.parametrize("kind", ["disjoint", "partial"])
def test_fixed_number_post_targets_are_uniform(with_replacement, kind):
    g = geometry(kind, n_pre=3000, n_post=300)
    connector = FixedNumberPost(20, with_replacement=with_replacement,
                                allow_self_connections=False)
    pre, post = whole(connector, g, Streams(11, 5))
    counts = np.bincount(post, minlength=g.n_post).astype(float)
    # a post that is also a pre neuron cannot be chosen by that one pre
    own = g.self_pre(np.arange(g.n_post)) >= 0
    weight = np.where(own, 1.0 - 1.0 / 300, 1.0)
    expected = counts.sum() * weight / weight.sum()
    assert stats.chisquare(counts, expected).pvalue > 1e-3


@pytest.mark.parametrize("with_replacement", [False, True])
def test_fixed_number_post_block_counts_follow_the_exact_law(with_replacement):
    """The number of a source's targets in one block is hypergeometric
    (binomial with replacement) whatever the tree did above it."""
    n_pre, n_post, n = 4000, 200, 50        # blocks of 64, 64, 64 and 8 posts
    g = geometry("disjoint", n_pre=n_pre, n_post=n_post)
    connector = FixedNumberPost(n, with_replacement=with_replacement)
    for b, size in ((3, 8), (1, 64)):
        block = connector.generate(g, *block_range(b, n_post), Streams(2, 9))
        counts = np.bincount(np.bincount(block.pre, minlength=n_pre), minlength=n + 1)
        k = np.arange(n + 1)
        law = (stats.binom(n, size / n_post) if with_replacement
               else stats.hypergeom(n_post, size, n))
        expected = law.pmf(k) * n_pre
        # pool the sparse tail so every bin expects at least 5
        keep = expected >= 5
        observed = np.r_[counts[keep], counts[~keep].sum()]
        expected = np.r_[expected[keep], expected[~keep].sum()]
        expected *= observed.sum() / expected.sum()
        assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_fixed_number_post_pairs_inside_a_block_are_uniform():
    """Two distinct targets fall in the same block with the probability of a
    uniform 2-subset: (2 C(64, 2) + C(2, 2)) / C(130, 2)."""
    g = geometry("disjoint", n_pre=20000, n_post=130)
    pre, post = whole(FixedNumberPost(2), g, Streams(4, 4))
    order = np.argsort(pre, kind="stable")
    first, second = post[order].reshape(-1, 2).T
    same_block = np.mean(first // 64 == second // 64)
    assert abs(same_block - (2 * 2016 + 1) / 8385) < 0.014
    assert not np.any(first == second)


@pytest.mark.parametrize("with_replacement", [False, True])
def test_fixed_total_number_is_uniform_over_pairs(with_replacement):
    g = geometry("partial", n_pre=150, n_post=200)
    connector = FixedTotalNumber(20000, with_replacement=with_replacement,
                                 allow_self_connections=False)
    pre, post = whole(connector, g, Streams(8, 8))
    own_pre = g.self_pre(np.arange(g.n_post))
    per_post = g.n_pre - (own_pre >= 0)
    expected = 20000 * per_post / per_post.sum()
    counts = np.bincount(post, minlength=g.n_post)
    assert stats.chisquare(counts, expected).pvalue > 1e-3
    shared_pre = np.zeros(g.n_pre, dtype=bool)
    shared_pre[own_pre[own_pre >= 0]] = True
    per_pre = g.n_post - shared_pre
    counts = np.bincount(pre, minlength=g.n_pre)
    assert stats.chisquare(counts, 20000 * per_pre / per_pre.sum()).pvalue > 1e-3


def test_fixed_total_number_with_more_pairs_than_numpy_can_split():
    """40 000 x 40 000 = 1.6e9 pairs: the tree splits above numpy's
    hypergeometric limit; the total is still exact and the pairs distinct."""
    g = Geometry("big", GidRange(0, 40000), GidRange(40000, 40000))
    connector = FixedTotalNumber(3000, with_replacement=False)
    parts = generate(connector, g, range(n_blocks(g)), Streams(5, 5))
    pre = np.concatenate([parts[b].pre for b in sorted(parts)])
    post = np.concatenate([parts[b].post for b in sorted(parts)])
    assert pre.size == 3000
    assert np.unique(pre * 40000 + post).size == 3000
    # roughly even over the two halves of the post range
    assert abs(np.mean(post < 20000) - 0.5) < 0.05
    again = connector.generate(Geometry("big", GidRange(0, 40000), GidRange(40000, 40000)),
                               *block_range(300, 40000), Streams(5, 5))
    assert_array_equal(again.pre, parts[300].pre)


def test_hypergeometric_beyond_numpy_matches_the_law():
    rng = np.random.default_rng(12)
    good, bad, n = 3 * 10 ** 9, 7 * 10 ** 9, 5000
    x = np.array([hypergeometric(rng, good, bad, n) for _ in range(3000)])
    mean = n * 0.3
    variance = n * 0.3 * 0.7 * (good + bad - n) / (good + bad - 1)
    assert abs(x.mean() - mean) < 4 * np.sqrt(variance / x.size)
    assert abs(x.var() / variance - 1) < 0.1
    # the edges of the support
    assert hypergeometric(rng, 2 * 10 ** 9, 5, 2 * 10 ** 9) == 2 * 10 ** 9 - 5
    assert hypergeometric(rng, 2 * 10 ** 9, 10 ** 9, 0) == 0
    # and numpy's own sampler below the limit, by the same law
    y = np.array([hypergeometric(rng, 300, 700, 50) for _ in range(3000)])
    assert abs(y.mean() - 15) < 4 * np.sqrt(50 * 0.21 * 950 / 999 / 3000)


def test_distinct_sorted_is_a_uniform_subset():
    rng = np.random.default_rng(1)
    draws = np.array([distinct_sorted(rng, 20, k) for k in (3,) * 4000])
    assert np.all(np.diff(draws, axis=1) > 0)
    counts = np.bincount(draws.ravel(), minlength=20)
    assert stats.chisquare(counts).pvalue > 1e-3
    dense = np.array([distinct_sorted(rng, 20, 17) for _ in range(2000)])
    assert np.all(np.diff(dense, axis=1) > 0)
    assert stats.chisquare(np.bincount(dense.ravel(), minlength=20)).pvalue > 1e-3


@pytest.mark.parametrize("with_replacement", [False, True])
def test_fixed_total_number_block_share_follows_the_exact_law(with_replacement):
    """The synapses one block gets, over many projections: hypergeometric
    without replacement (half the variance here), binomial with."""
    g = geometry("disjoint", n_pre=10, n_post=128)          # two blocks of 640 pairs
    connector = FixedTotalNumber(640, with_replacement=with_replacement)
    share = np.array([len(connector.generate(g, 0, 64, Streams(3, pid))) for pid in range(600)])
    variance = 640 * 0.25 * ((1280 - 640) / 1279 if not with_replacement else 1.0)
    assert abs(share.mean() - 320) < 4 * np.sqrt(variance / share.size)
    assert abs(share.var() / variance - 1) < 0.25
