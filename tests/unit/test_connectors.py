"""Connector expansion: a slice of targets generated alone equals the same slice
of the whole projection, and each connector keeps its promise."""
import numpy as np
import pytest

from spinn.connectors import generate_synapses
from spinn.errors import NetworkError
from spinn.network import ConnectorSpec, ProjectionSpec, ValueSpec


def projection(kind, n_pre=150, n_post=200, *, same=False, allow_self=True, params=None,
               weight=ValueSpec("distribution", ("uniform", {"low": 0.1, "high": 0.5})),
               delay=ValueSpec("scalar", 1.0), seed=11):
    pre = np.arange(n_pre, dtype=np.int64)
    post = pre.copy() if same else np.arange(1000, 1000 + n_post, dtype=np.int64)
    return ProjectionSpec(
        id=3, label=f"test-{kind}", pre_gids=pre, post_gids=post, pre_populations=(0,),
        post_populations=(0 if same else 1,),
        connector=ConnectorSpec(kind, params or {}, allow_self, seed), weight=weight,
        delay=delay, receptor=0)


CASES = [
    ("all_to_all", {}, False),
    ("fixed_probability", {"p_connect": 0.1}, False),
    ("fixed_probability", {"p_connect": 0.1}, True),
    ("fixed_number_pre", {"n": 7}, True),
    ("fixed_number_pre", {"n": 7, "with_replacement": True}, False),
    ("fixed_number_post", {"n": 9}, True),
    ("fixed_number_post", {"n": 9, "with_replacement": True}, False),
]


@pytest.mark.parametrize("kind,params,same", CASES)
def test_slices_equal_slices_of_the_whole(kind, params, same):
    proj = projection(kind, same=same, n_post=150 if same else 200,
                      allow_self=not same, params=params)
    n_post = len(proj.post_gids)
    whole = generate_synapses(proj, np.arange(n_post))
    # cut the targets at awkward places, not aligned to generation blocks
    cuts = [0, 5, 70, 71, 130, n_post]
    parts = [generate_synapses(proj, np.arange(a, b)) for a, b in zip(cuts[:-1], cuts[1:])]
    joined = [np.concatenate(x) for x in zip(*parts)]
    for a, b in zip(whole, joined):
        np.testing.assert_array_equal(a, b)
    # a scattered subset too
    subset = np.array([3, 64, 65, 128, 129, n_post - 1])
    sub = generate_synapses(proj, subset)
    keep = np.isin(whole[1], subset)
    for a, b in zip(sub, whole):
        np.testing.assert_array_equal(a, b[keep])
    assert whole[0].size > 0


def test_fixed_number_pre_exact_and_no_self():
    proj = projection("fixed_number_pre", same=True, n_pre=50, allow_self=False,
                      params={"n": 49})
    pre, post, w, d = generate_synapses(proj, np.arange(50))
    np.testing.assert_array_equal(np.bincount(post, minlength=50), 49)
    assert not np.any(pre == post)
    # without replacement: all distinct per target
    assert len(set(zip(pre.tolist(), post.tolist()))) == pre.size


def test_fixed_number_pre_too_many_raises():
    proj = projection("fixed_number_pre", same=True, n_pre=10, allow_self=False,
                      params={"n": 10})
    with pytest.raises(NetworkError, match="test-fixed_number_pre.*10 distinct"):
        generate_synapses(proj, np.arange(10))


def test_fixed_number_post_exact():
    proj = projection("fixed_number_post", params={"n": 9})
    pre, post, w, d = generate_synapses(proj, np.arange(200))
    np.testing.assert_array_equal(np.bincount(pre, minlength=150), 9)


def test_fixed_probability_density():
    proj = projection("fixed_probability", n_pre=400, n_post=400, params={"p_connect": 0.05})
    pre, post, w, d = generate_synapses(proj, np.arange(400))
    expected = 400 * 400 * 0.05
    assert abs(pre.size - expected) < 5 * np.sqrt(expected)
    assert w.min() >= 0.1 and w.max() <= 0.5


def test_one_to_one_and_size_one():
    """Size-1 populations work (PyNN 0.13's own OneToOne fails on numpy >= 2.1)."""
    proj = projection("one_to_one", n_pre=1, n_post=1)
    pre, post, w, d = generate_synapses(proj, np.arange(1))
    np.testing.assert_array_equal(pre, [0])
    np.testing.assert_array_equal(post, [0])
    proj = projection("one_to_one", n_pre=5, n_post=6)
    with pytest.raises(NetworkError, match="same size"):
        generate_synapses(proj, np.arange(6))


def test_from_list_with_columns_and_filter():
    conn = np.array([[0, 0, 0.5, 1.0], [1, 2, 0.25, 2.0], [2, 2, 0.75, 3.0]])
    proj = projection("from_list", n_pre=3, n_post=3, params={
        "conn_list": conn, "weight_column": 2, "delay_column": 3},
        weight=ValueSpec("list", None), delay=ValueSpec("list", None))
    pre, post, w, d = generate_synapses(proj, np.array([2]))
    np.testing.assert_array_equal(pre, [1, 2])
    np.testing.assert_array_equal(w, [0.25, 0.75])
    np.testing.assert_array_equal(d, [2.0, 3.0])


def test_seed_changes_network():
    a = generate_synapses(projection("fixed_probability", params={"p_connect": 0.1}, seed=1),
                          np.arange(200))
    b = generate_synapses(projection("fixed_probability", params={"p_connect": 0.1}, seed=2),
                          np.arange(200))
    assert a[0].size != b[0].size or not np.array_equal(a[0], b[0])
