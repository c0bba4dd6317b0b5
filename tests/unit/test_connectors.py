"""The connector protocol on the basic and random connectors: each block is a
pure function of (connector, geometry, block, streams), so any subset of
blocks in any order equals the same blocks of the whole; each connector keeps
its promise; ``expected_synapses`` and ``footprint`` are honest."""
import numpy as np
import pytest

from spinn.connectors import (SYNAPSE_BLOCK, AllToAll, Array, FixedNumberPre, FixedProbability,
                              FromList, Geometry, OneToOne, Streams, block_range)
from spinn.errors import NetworkError
from spinn.network import GidRange


def geometry(n_pre=150, n_post=200, *, overlap="none"):
    """Sides as gid maps: disjoint, the same population, or partly shared arrays."""
    if overlap == "same":
        pre = post = GidRange(0, n_pre)
    elif overlap == "partial":       # the post side shares its first half with pre's end
        pre = np.arange(n_pre, dtype=np.int64)
        post = np.arange(n_pre - n_post // 2, n_pre - n_post // 2 + n_post, dtype=np.int64)
    else:
        pre, post = GidRange(0, n_pre), GidRange(1000, n_post)
    return Geometry("test", pre, post)


def generate_all(connector, geom, streams, blocks=None):
    n_blocks = -(-geom.n_post // SYNAPSE_BLOCK)
    out = {}
    for b in (range(n_blocks) if blocks is None else blocks):
        lo, hi = block_range(b, geom.n_post)
        out[b] = connector.generate(geom, lo, hi, streams)
    return out


def joined(blocks):
    keys = sorted(blocks)
    return (np.concatenate([blocks[b].pre for b in keys]),
            np.concatenate([blocks[b].post for b in keys]))


CASES = [
    (AllToAll(), "none"),
    (AllToAll(allow_self_connections=False), "partial"),
    (FixedProbability(p_connect=0.1), "none"),
    (FixedProbability(allow_self_connections=False, p_connect=0.3), "same"),
    (FixedNumberPre(n=7), "same"),
    (FixedNumberPre(allow_self_connections=False, n=7), "partial"),
    (FixedNumberPre(n=7, with_replacement=True), "none"),
    (FixedNumberPre(allow_self_connections=False, n=120), "same"),   # dense regime
]


@pytest.mark.parametrize("connector,overlap", CASES)
def test_blocks_are_independent_of_order_and_company(connector, overlap):
    geom = geometry(overlap=overlap, n_post=150 if overlap == "same" else 200)
    streams = Streams(11, 3)
    whole = generate_all(connector, geom, streams)
    backwards = generate_all(connector, geom, streams, blocks=sorted(whole, reverse=True))
    alone = generate_all(connector, geom, streams, blocks=[2])
    for b in whole:
        np.testing.assert_array_equal(whole[b].pre, backwards[b].pre)
        np.testing.assert_array_equal(whole[b].post, backwards[b].post)
    np.testing.assert_array_equal(alone[2].pre, whole[2].pre)
    pre, post = joined(whole)
    assert pre.size > 0
    # sorted by (post, pre)
    order = np.lexsort((pre, post))
    np.testing.assert_array_equal(order, np.arange(pre.size))
    if not connector.allow_self_connections:
        assert not np.any(np.asarray(geom.pre[pre]) == np.asarray(geom.post[post]))
    # every synapse lies in its block's footprint
    for b, block in whole.items():
        lo, hi = block_range(b, geom.n_post)
        fp = connector.footprint(geom, lo, hi)
        if fp is not None and len(block):
            inside = np.zeros(block.pre.size, dtype=bool)
            for a, z in fp:
                inside |= (block.pre >= a) & (block.pre < z)
            assert inside.all()


def test_streams_and_seeds_change_the_network():
    geom = geometry()
    c = FixedProbability(p_connect=0.1)
    a = joined(generate_all(c, geom, Streams(1, 3)))[0]
    b = joined(generate_all(c, geom, Streams(2, 3)))[0]
    d = joined(generate_all(c, geom, Streams(1, 4)))[0]
    assert not np.array_equal(a, b) and not np.array_equal(a, d)


def test_fixed_number_pre_exact_distinct_and_without_self():
    geom = geometry(n_pre=50, n_post=50, overlap="same")
    c = FixedNumberPre(allow_self_connections=False, n=49)
    pre, post = joined(generate_all(c, geom, Streams(5, 0)))
    np.testing.assert_array_equal(np.bincount(post, minlength=50), 49)
    assert not np.any(pre == post)
    assert len(set(zip(pre.tolist(), post.tolist()))) == pre.size


def test_fixed_number_pre_is_uniform():
    """Sources are drawn uniformly: counts per pre index pass a chi-square test."""
    geom = geometry(n_pre=40, n_post=2000)
    for c in (FixedNumberPre(n=10), FixedNumberPre(n=10, with_replacement=True),
              FixedNumberPre(n=30)):
        pre, _ = joined(generate_all(c, geom, Streams(7, 1)))
        counts = np.bincount(pre, minlength=40)
        expected = pre.size / 40
        chi2 = float(((counts - expected) ** 2 / expected).sum())
        assert chi2 < 80.0, (c, chi2)     # 39 degrees of freedom: p < 1e-4 beyond 80


def test_fixed_number_pre_too_many_raises():
    geom = geometry(n_pre=10, n_post=10, overlap="same")
    with pytest.raises(NetworkError, match="'test'.*10 distinct sources.*9 are available"):
        generate_all(FixedNumberPre(allow_self_connections=False, n=10), geom, Streams(1, 1))


def test_fixed_probability_density_and_expectation():
    geom = geometry(n_pre=400, n_post=400)
    c = FixedProbability(p_connect=0.05)
    pre, _ = joined(generate_all(c, geom, Streams(3, 2)))
    expected = c.expected_synapses(geom)
    assert expected == 400 * 400 * 0.05
    assert abs(pre.size - expected) < 5 * np.sqrt(expected)


def test_fixed_probability_extremes():
    geom = geometry(n_pre=30, n_post=70, overlap="same")
    assert joined(generate_all(FixedProbability(p_connect=0.0), geom, Streams(1, 1)))[0].size == 0
    c = FixedProbability(allow_self_connections=False, p_connect=1.0)
    pre, post = joined(generate_all(c, geometry(n_pre=70, n_post=70, overlap="same"),
                                    Streams(1, 1)))
    assert pre.size == 70 * 69 == c.expected_synapses(geometry(70, 70, overlap="same"))


def test_one_to_one_and_size_one():
    geom = geometry(n_pre=1, n_post=1)
    pre, post = joined(generate_all(OneToOne(), geom, Streams(1, 1)))
    np.testing.assert_array_equal(pre, [0])
    np.testing.assert_array_equal(post, [0])
    geom = geometry(n_pre=130, n_post=130)
    lo, hi = block_range(1, 130)
    np.testing.assert_array_equal(OneToOne().footprint(geom, lo, hi), [[64, 128]])


def test_from_list_sorted_with_columns_and_entries():
    conn = FromList.make([2, 1, 0, 1], [2, 2, 0, 2], {"weight": [0.75, 0.25, 0.5, 0.3]})
    geom = geometry(n_pre=3, n_post=3)
    block = conn.generate(geom, 0, 3, Streams(1, 1))
    np.testing.assert_array_equal(block.pre, [0, 1, 1, 2])
    np.testing.assert_array_equal(block.post, [0, 2, 2, 2])
    # the two (1, 2) synapses keep their order in the list (0.25 before 0.3)
    np.testing.assert_array_equal(conn.column("weight")[block.entry], [0.5, 0.25, 0.3, 0.75])
    np.testing.assert_array_equal(conn.footprint(geom, 0, 3), [[0, 3]])


def test_array_connector():
    matrix = np.zeros((5, 70), dtype=bool)
    matrix[[0, 3, 4], [1, 65, 65]] = True
    conn = Array.make(matrix)
    geom = geometry(n_pre=5, n_post=70)
    pre, post = joined(generate_all(conn, geom, Streams(1, 1)))
    np.testing.assert_array_equal(pre, [0, 3, 4])
    np.testing.assert_array_equal(post, [1, 65, 65])
    assert conn.expected_synapses(geom) == 3
    np.testing.assert_array_equal(conn.footprint(geom, 64, 70), [[3, 5]])


def test_bernoulli_hits_with_a_vanishing_probability_ends():
    """Found by the property tests: p_connect=1e-75 made numpy's geometric gaps
    2**63 - 1, whose running sum wrapped round to negative positions and
    the loop never ended (a hang at the first run())."""
    from spinn.connectors.probabilistic import bernoulli_hits
    for p in (1e-75, 1e-20, 5e-324):
        assert bernoulli_hits(np.random.default_rng(3), p, 1000).size == 0
    big = bernoulli_hits(np.random.default_rng(3), 1e-9, 10**12)
    assert big.size < 5000 and np.all((big >= 0) & (big < 10**12))
    # results where the old loop ended are unchanged (gaps past the end are dropped)
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    hits = bernoulli_hits(rng_a, 0.01, 5000)
    gaps = rng_b.geometric(0.01, int(50 + 4.0 * np.sqrt(51)) + 16)
    expect = -1 + np.cumsum(gaps)
    np.testing.assert_array_equal(hits[:np.sum(expect < 5000)], expect[expect < 5000][:hits.size])
