"""Positions, distances and the spatial connectors: PyNN's semantics,
generated per post block with the same synapses on every slicing."""
import importlib
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pyNN import connectors as pc
from pyNN import space as ps
from pyNN.core import IndexBasedExpression
from pyNN.parameters import LazyArray
from pyNN.random import RandomDistribution
from scipy import stats

from spinn.connectors import (SYNAPSE_BLOCK, AllToAll, Array, Clone,
                              DisplacementDependentProbability, DistanceDependentProbability,
                              DistanceExpression, FixedNumberPost, FixedProbability,
                              FixedTotalNumber, FromList, Geometry, IndexBased, Streams,
                              block_range)
from spinn.network import GidRange, fingerprint
from spinn.values import NEURON_BLOCK

space = importlib.import_module("spinn.positions")

# -- distances -----------------------------------------------------------------------

SPACES = [
    dict(),
    dict(axes="x"),
    dict(axes="yz", scale_factor=2.5),
    dict(axes="xz", offset=-3.0, scale_factor=0.5),
    dict(offset=np.array([1.0, -2.0, 0.5]), scale_factor=np.array([1.0, 2.0, 3.0])),
    dict(periodic_boundaries=((0, 100), None, (-50, 50))),
    dict(axes="xy", scale_factor=1.5, offset=2.0, periodic_boundaries=((0, 60), (10, 90), None)),
]


@pytest.mark.parametrize("options", SPACES, ids=lambda o: ",".join(sorted(o)) or "default")
def test_space_distances_equal_pynn(options):
    rng = np.random.default_rng(0)
    a = rng.uniform(-20, 120, (3, 40))
    b = rng.uniform(-20, 120, (3, 30))
    theirs = ps.Space(**options).distances(a.T, b.T)
    engine = space.SpaceSpec(**options)
    mine = engine.distances(a[:, :, None], b[:, None, :])
    assert mine.shape == (40, 30)
    assert_array_equal(mine.ravel(), theirs)
    # elementwise pairs
    assert_array_equal(engine.distances(a[:, :30], b), np.diag(mine[:30, :30]))


def test_space_spec_rejects_bad_options():
    with pytest.raises(ValueError, match="axes"):
        space.SpaceSpec(axes="zx")
    with pytest.raises(ValueError, match="periodic_boundaries"):
        space.SpaceSpec(periodic_boundaries=((0, 1), None))
    assert space.SpaceSpec(axes=None) == space.SpaceSpec()


# -- positions ---------------------------------------------------------------------------

STRUCTURES = [
    (ps.Line(), space.Line(), 37),
    (ps.Line(dx=0.3, x0=-4.1, y=2.2, z=-0.7), space.Line(0.3, -4.1, 2.2, -0.7), 101),
    (ps.Grid2D(), space.Grid2D(size=144), 144),
    (ps.Grid2D(aspect_ratio=2.0, dx=1.5, dy=0.7, x0=3.0, y0=-1.0, z=2.0),
     space.Grid2D(2.0, 1.5, 0.7, 3.0, -1.0, 2.0, size=200), 200),
    (ps.Grid3D(), space.Grid3D(size=343), 343),
    (ps.Grid3D(2.0, 0.5, dx=0.1, dy=2.0, dz=0.3, x0=1.0, y0=-2.0, z0=0.4),
     space.Grid3D(2.0, 0.5, 0.1, 2.0, 0.3, 1.0, -2.0, 0.4, size=1000), 1000),
]


@pytest.mark.parametrize("theirs,mine,n", STRUCTURES, ids=lambda x: repr(x)[:40])
def test_regular_structures_equal_pynn(theirs, mine, n):
    expected = theirs.generate_positions(n)
    assert_array_equal(mine.take(np.arange(n)), expected)
    subset = np.array([n - 1, 0, n // 2, n // 2])
    assert_array_equal(mine.take(subset), expected[:, subset])


def test_grid_sizes_pynn_cannot_fill_are_errors():
    with pytest.raises(ValueError, match="cannot hold 10 neurons"):
        space.Grid2D(size=10)
    with pytest.raises(ValueError, match="cannot hold 999 neurons"):
        space.Grid3D(size=999)
    with pytest.raises(ValueError, match="key"):
        space.Grid2D(size=100, fill_order="random")


def test_randomly_filled_grid_is_a_keyed_permutation():
    grid = space.Grid2D(size=400, fill_order="random", key=17)
    sequential = space.Grid2D(size=400).take(np.arange(400))
    filled = grid.take(np.arange(400))
    assert not np.array_equal(filled, sequential)
    by_point = lambda p: p[:, np.lexsort(p[::-1])]  # noqa: E731
    assert_array_equal(by_point(filled), by_point(sequential))
    assert_array_equal(space.Grid2D(size=400, fill_order="random", key=17).take([5, 300]),
                       filled[:, [5, 300]])
    assert not np.array_equal(space.Grid2D(size=400, fill_order="random", key=18).take(
        np.arange(400)), filled)


@pytest.mark.parametrize("boundary", [space.Cuboid(10.0, 4.0, 2.0), space.Sphere(3.0)],
                         ids=repr)
def test_random_structure_is_keyed_per_block_and_inside(boundary):
    origin = (5.0, -1.0, 2.0)
    structure = space.RandomStructure(boundary, origin, key=99)
    n = 3 * NEURON_BLOCK + 17
    everything = structure.take(np.arange(n))
    rng = np.random.default_rng(3)
    for subset in (rng.permutation(n)[:50], np.array([n - 1, 0, NEURON_BLOCK, 5, 5])):
        again = space.RandomStructure(boundary, origin, key=99).take(subset)
        assert_array_equal(again, everything[:, subset])
    # index arrays of any shape
    assert_array_equal(structure.take(np.array([[1, 2], [3, 4]])),
                       everything[:, [[1, 2], [3, 4]]])
    assert not np.array_equal(space.RandomStructure(boundary, origin, key=98).take(
        np.arange(10)), everything[:, :10])
    centred = everything - np.array(origin)[:, None]
    if isinstance(boundary, space.Cuboid):
        half = np.array([10.0, 4.0, 2.0])[:, None] / 2
        assert np.all(np.abs(centred) <= half)
        assert stats.kstest(centred[0], stats.uniform(-5, 10).cdf).pvalue > 1e-3
    else:
        radius = np.sqrt((centred ** 2).sum(axis=0))
        assert np.all(radius < 3.0)
        # uniform in the ball: (r / R)^3 is uniform on [0, 1]
        assert stats.kstest((radius / 3.0) ** 3, "uniform").pvalue > 1e-3


def test_explicit_positions():
    array = np.arange(12.0).reshape(3, 4)
    explicit = space.ExplicitPositions(array)
    assert_array_equal(explicit.take([3, 1]), array[:, [3, 1]])
    assert not explicit.array.flags.writeable
    assert_array_equal(space.take_positions(array, [2]), array[:, [2]])
    with pytest.raises(ValueError):
        space.ExplicitPositions(np.zeros((2, 4)))


# -- connector helpers --------------------------------------------------------------------

def spatial_geometry(kind="disjoint", n_pre=150, n_post=200, space_spec=None,
                     pre_positions=None, post_positions=None):
    pre_positions = pre_positions or space.Line(dx=1.0)
    post_positions = post_positions or space.Line(dx=0.75, x0=0.3, y=1.0)
    if kind == "disjoint":
        pre, post = GidRange(0, n_pre), GidRange(n_pre, n_post)
    elif kind == "same":
        pre = post = GidRange(0, n_pre)
        post_positions = pre_positions
    else:   # shuffled gid arrays sharing 60 neurons
        rng = np.random.default_rng(5)
        pre = rng.permutation(np.arange(1000, 1000 + n_pre, dtype=np.int64))
        post = rng.permutation(np.r_[np.arange(1000 + n_pre - 60, 1000 + n_pre),
                                     np.arange(5000, 5000 + n_post - 60)].astype(np.int64))
    sides = {"pre": pre_positions, "post": post_positions}
    return Geometry(kind, pre, post, space=space_spec or space.SpaceSpec(),
                    positions=lambda side, index: sides[side].take(index))


def n_blocks(g):
    return -(-g.n_post // SYNAPSE_BLOCK)


def generate(connector, g, blocks, streams):
    return {b: connector.generate(g, *block_range(b, g.n_post), streams) for b in blocks}


def whole(connector, g, streams=None):
    parts = generate(connector, g, range(n_blocks(g)), streams or Streams(1, 1))
    return (np.concatenate([parts[b].pre for b in sorted(parts)]),
            np.concatenate([parts[b].post for b in sorted(parts)]))


class Ring(IndexBasedExpression):
    """Probability 0.8 when (i + j) is a multiple of k, and only for i < limit."""

    def __init__(self, k, limit=10 ** 9):
        self.k, self.limit = k, limit

    def __call__(self, i, j):
        return 0.8 * (((i + j) % self.k) == 0) * (i < self.limit)


CONNECTORS = [
    DistanceDependentProbability("exp(-d / 40.0)"),
    DistanceDependentProbability("d < 15", allow_self_connections=False),
    DistanceDependentProbability(lambda d: 0.5 * np.exp(-d / 20.0)),
    IndexBased(Ring(3)),
    IndexBased(Ring(2, limit=100), allow_self_connections=False),
    DisplacementDependentProbability(lambda d: 0.9 * (np.abs(d[0]) < 30) * (d[1] >= 0)),
]


@pytest.mark.parametrize("kind", ["disjoint", "same", "partial"])
@pytest.mark.parametrize("connector", CONNECTORS, ids=lambda c: type(c).__name__)
def test_spatial_blocks_are_the_same_in_any_order_and_subset(connector, kind):
    g = spatial_geometry(kind)
    forward = generate(connector, g, range(n_blocks(g)), Streams(9, 2))
    backward = generate(connector, g, reversed(range(n_blocks(g))), Streams(9, 2))
    some = generate(connector, spatial_geometry(kind), [n_blocks(g) - 1, 0], Streams(9, 2))
    assert sum(len(b) for b in forward.values()) > 0
    for b in forward:
        assert_array_equal(backward[b].pre, forward[b].pre)
        assert_array_equal(backward[b].post, forward[b].post)
    for b in some:
        assert_array_equal(some[b].pre, forward[b].pre)
        assert_array_equal(some[b].post, forward[b].post)
    for b, block in forward.items():
        lo, hi = block_range(b, g.n_post)
        assert np.all((block.post >= lo) & (block.post < hi))
        assert_array_equal(np.lexsort((block.pre, block.post)), np.arange(len(block)))
        inside = np.zeros(len(block), dtype=bool)
        for start, end in connector.footprint(g, lo, hi):
            inside |= (block.pre >= start) & (block.pre < end)
        assert inside.all()
        if not connector.allow_self_connections:
            assert not np.any(np.asarray(g.pre)[block.pre] == np.asarray(g.post)[block.post])


def test_self_connections_are_made_when_allowed():
    g = spatial_geometry("same")
    pre, post = whole(DistanceDependentProbability("d < 3"), g)
    assert np.any(pre == post)
    pre, post = whole(DistanceDependentProbability("d < 3", allow_self_connections=False), g)
    assert not np.any(pre == post) and pre.size > 0


def pynn_probabilities(expression, g, options):
    """PyNN's probability matrix (n_pre, n_post) for a distance expression."""
    a = g.positions("pre", np.arange(g.n_pre))
    b = g.positions("post", np.arange(g.n_post))
    d = ps.Space(**options).distances(a.T, b.T).reshape(g.n_pre, g.n_post)
    return pc.DistanceDependentProbabilityConnector(expression).distance_function(d)


@pytest.mark.parametrize("options", [dict(), dict(axes="x", scale_factor=1.2, offset=-4.0),
                                     dict(periodic_boundaries=((0, 120), None, None))])
def test_distance_dependent_frequency_follows_the_expression(options):
    expression = "exp(-d / 25.0)"
    g = spatial_geometry("disjoint", n_pre=300, n_post=260, space_spec=space.SpaceSpec(**options))
    p = pynn_probabilities(expression, g, options)
    connector = DistanceDependentProbability(expression)
    assert connector.expected_synapses(g) == pytest.approx(p.sum(), rel=1e-9)
    pre, post = whole(connector, g, Streams(31, 4))
    made = np.zeros(p.shape)
    np.add.at(made, (pre, post), 1)
    assert made.max() == 1
    # overall, and per band of probability
    assert abs(made.sum() - p.sum()) < 4 * np.sqrt((p * (1 - p)).sum())
    for low, high in ((0.0, 0.05), (0.05, 0.3), (0.3, 0.7), (0.7, 1.0)):
        band = (p > low) & (p <= high)
        expected, spread = p[band].sum(), np.sqrt((p[band] * (1 - p[band])).sum())
        assert abs(made[band].sum() - expected) < 4 * spread + 1
    assert made[p == 0].sum() == 0


def test_distance_dependent_footprint_is_the_reach_of_the_kernel():
    g = spatial_geometry("disjoint", n_pre=300, n_post=260)
    connector = DistanceDependentProbability("d < 5")
    p = pynn_probabilities("d < 5", g, {})
    for b in range(n_blocks(g)):
        lo, hi = block_range(b, g.n_post)
        reach = connector.footprint(g, lo, hi)
        expected = np.flatnonzero(p[:, lo:hi].any(axis=1))
        got = np.concatenate([np.arange(s, e) for s, e in reach])
        assert_array_equal(got, expected)


def test_expected_synapses_samples_large_projections():
    # 5000 x 4000 pairs: beyond the exact budget, a sample of evenly spaced indices
    g = spatial_geometry("disjoint", n_pre=5000, n_post=4000,
                         pre_positions=space.Line(dx=0.1), post_positions=space.Line(dx=0.125))
    connector = DistanceDependentProbability("exp(-d / 50.0)")
    x = np.arange(5000) * 0.1
    y = np.arange(4000) * 0.125
    exact = sum(np.exp(-np.abs(x[:, None] - y[None, a:a + 500]) / 50.0).sum()
                for a in range(0, 4000, 500))
    assert connector.expected_synapses(g) == pytest.approx(exact, rel=0.01)


def test_expected_synapses_leaves_out_self_connections():
    g = spatial_geometry("same", n_pre=100)
    assert DistanceDependentProbability("d < 1.5").expected_synapses(g) == pytest.approx(
        100 + 2 * 99)
    assert DistanceDependentProbability("d < 1.5", False).expected_synapses(g) == pytest.approx(
        2 * 99)
    assert IndexBased(Ring(1), False).expected_synapses(g) == pytest.approx(0.8 * 100 * 99)


def test_bad_distance_expressions_are_errors():
    with pytest.raises(ValueError, match="not a valid Python expression"):
        DistanceDependentProbability("d <")
    with pytest.raises(ValueError, match="gauss"):
        DistanceDependentProbability("gauss(d)")
    g = spatial_geometry()
    g.space = None
    with pytest.raises(ValueError, match="Space"):
        DistanceDependentProbability("d < 3").generate(g, 0, 64, Streams(1, 1))


def test_index_based_frequency_follows_the_expression():
    g = spatial_geometry("disjoint", n_pre=300, n_post=260)
    pre, post = whole(IndexBased(Ring(3)), g, Streams(2, 2))
    on = (pre + post) % 3 == 0
    assert on.all()
    pairs = np.sum((np.arange(300)[:, None] + np.arange(260)[None, :]) % 3 == 0)
    assert abs(pre.size / pairs - 0.8) < 4 * np.sqrt(0.16 / pairs)


def test_index_based_expression_identity_ignores_the_projection():
    a, b = Ring(3), Ring(3)
    b.projection = SimpleNamespace(label="attached by PyNN")
    assert fingerprint(IndexBased(a)) == fingerprint(IndexBased(b))
    assert IndexBased(a) == IndexBased(b)
    assert fingerprint(IndexBased(a)) != fingerprint(IndexBased(Ring(4)))
    assert fingerprint(IndexBased(a)) != fingerprint(IndexBased(a, allow_self_connections=False))
    assert fingerprint(DistanceDependentProbability("exp(-d)")) != fingerprint(
        DistanceDependentProbability("log(1 + d)"))
    assert fingerprint(DistanceExpression(lambda d: np.exp(d))) != fingerprint(
        DistanceExpression(lambda d: np.log(d)))


def test_displacement_probabilities_equal_pynn():
    g = spatial_geometry("disjoint", n_pre=90, n_post=70,
                         pre_positions=space.Grid2D(size=90, aspect_ratio=0.9, dx=3.0),
                         post_positions=space.Line(dx=2.0, y=4.0))
    function = lambda d: np.exp(-np.abs(d[0]) / 10.0) * (d[1] > 1.5)  # noqa: E731
    expression = pc.DisplacementDependentProbabilityConnector(function).index_expression
    expression.projection = SimpleNamespace(
        pre=SimpleNamespace(positions=g.positions("pre", np.arange(90))),
        post=SimpleNamespace(positions=g.positions("post", np.arange(70))))
    connector = DisplacementDependentProbability(function)
    i, j = np.meshgrid(np.arange(90), np.arange(70), indexing="ij")
    theirs = expression(i.ravel(), j.ravel()).reshape(90, 70)
    mine = connector.probabilities(g, np.arange(90), np.arange(70))
    assert_array_equal(mine, theirs.T)
    assert 0 < theirs.mean() < 0.5
    pre, post = whole(connector, g, Streams(3, 1))
    assert np.all(theirs[pre, post] > 0)
    assert abs(pre.size - theirs.sum()) < 4 * np.sqrt((theirs * (1 - theirs)).sum())


# -- distance expressions as values -------------------------------------------------------

def test_distance_expression_values():
    g = spatial_geometry("disjoint", space_spec=space.SpaceSpec(axes="x", scale_factor=2.0))
    pre, post = np.array([0, 5, 149]), np.array([3, 0, 199])
    a, b = g.positions("pre", pre), g.positions("post", post)
    d = np.abs(a[0] - 2.0 * b[0])
    assert_allclose(DistanceExpression("0.2 + 0.3 * d").evaluate(g, pre, post), 0.2 + 0.3 * d)
    assert_allclose(DistanceExpression("exp(-d) + pi").evaluate(g, pre, post), np.exp(-d) + np.pi)
    assert_allclose(DistanceExpression(lambda d: 2 * d).evaluate(g, pre, post), 2 * d)
    constant = DistanceExpression("1.5").evaluate(g, pre, post)
    assert constant.shape == (3,) and np.all(constant == 1.5)
    assert DistanceExpression("d") == DistanceExpression("d")
    assert fingerprint(DistanceExpression("d")) == fingerprint(DistanceExpression("d"))
    assert fingerprint(DistanceExpression("d")) != fingerprint(DistanceExpression("2*d"))
    assert DistanceExpression("d").evaluate(g, np.zeros(0, int), np.zeros(0, int)).size == 0


# -- clone --------------------------------------------------------------------------------

@pytest.mark.parametrize("reference", [
    FixedProbability(p_connect=0.1), FixedNumberPost(7, allow_self_connections=False),
    FixedTotalNumber(900), DistanceDependentProbability("d < 10"), AllToAll(),
    FromList.make([3, 1, 4], [0, 70, 199], {"weight": [1.0, 2.0, 3.0]}),
], ids=lambda c: type(c).__name__)
def test_clone_reproduces_the_reference(reference):
    g = spatial_geometry("partial")
    clone = Clone(reference, 1234, 7)
    expected = whole(reference, g, Streams(1234, 7))
    got = whole(clone, spatial_geometry("partial"), Streams(99, 99))
    assert_array_equal(got[0], expected[0])
    assert_array_equal(got[1], expected[1])
    assert clone.generate(g, 0, 64, Streams(5, 5)).entry is None
    assert clone.expected_synapses(g) == reference.expected_synapses(g)
    assert fingerprint(clone) != fingerprint(Clone(reference, 1234, 8))


def test_connectors_keep_their_positional_signature():
    assert FixedNumberPost(5, True, False) == FixedNumberPost(
        n=5, with_replacement=True, allow_self_connections=False)
    assert FixedTotalNumber(5).with_replacement is True
    assert FixedNumberPost(5).with_replacement is False


# -- the PyNN side ------------------------------------------------------------------------

def test_pynn_space_translation():
    from spinn.pynn.spatial import space_spec
    options = dict(axes="xz", scale_factor=2.0, offset=1.0,
                   periodic_boundaries=((0, 10), None, (0, 5)))
    engine = space_spec(ps.Space(**options))
    assert engine == space.SpaceSpec(**options)
    assert space_spec(ps.Space()) == space.SpaceSpec()
    a, b = np.random.default_rng(1).uniform(0, 10, (2, 3, 20))
    assert_array_equal(engine.distances(a[:, :, None], b[:, None, :]).ravel(),
                       ps.Space(**options).distances(a.T, b.T))


def test_pynn_positions_translation():
    from spinn.pynn.spatial import positions_key, positions_of
    for theirs, mine, n in STRUCTURES:
        population = SimpleNamespace(structure=theirs, size=n)
        description = positions_of(population, 5, 2)
        assert description == mine
        assert_array_equal(description.take(np.arange(n)), theirs.generate_positions(n))
    explicit = np.random.default_rng(2).uniform(size=(3, 6))
    description = positions_of(SimpleNamespace(structure=None, size=6, positions=explicit), 5, 2)
    assert_array_equal(description.take(np.arange(6)), explicit)
    for boundary, mine in ((ps.Sphere(2.0), space.Sphere(2.0)),
                           (ps.Cuboid(1.0, 2.0, 3.0), space.Cuboid(1.0, 2.0, 3.0))):
        population = SimpleNamespace(structure=ps.RandomStructure(boundary, (1, 2, 3)), size=50)
        description = positions_of(population, 5, 2)
        assert description == space.RandomStructure(mine, (1.0, 2.0, 3.0), positions_key(5, 2))
        assert positions_of(population, 5, 3) != description
    grid = positions_of(SimpleNamespace(structure=ps.Grid2D(fill_order="random"), size=100), 5, 2)
    assert grid.fill_order == "random" and grid.key == positions_key(5, 2)


def test_pynn_connector_translation():
    from spinn.pynn.spatial import translate_connector
    assert translate_connector(pc.FixedNumberPostConnector(5, allow_self_connections=False)) == \
        FixedNumberPost(5, False, False)
    assert translate_connector(pc.FixedNumberPostConnector(5, with_replacement=True)) == \
        FixedNumberPost(5, True)
    total = translate_connector(pc.FixedTotalNumberConnector(50))
    assert total == FixedTotalNumber(50) and total.with_replacement
    assert translate_connector(pc.DistanceDependentProbabilityConnector("d < 3")) == \
        DistanceDependentProbability("d < 3")
    ring = Ring(3)
    assert translate_connector(pc.IndexBasedProbabilityConnector(ring, False)) == \
        IndexBased(ring, False)
    function = lambda d: d[0] > 0  # noqa: E731
    displacement = translate_connector(pc.DisplacementDependentProbabilityConnector(function))
    assert isinstance(displacement, DisplacementDependentProbability)
    assert displacement.disp_function is function
    matrix = np.random.default_rng(0).uniform(size=(4, 5)) < 0.5
    array = translate_connector(pc.ArrayConnector(matrix))
    assert isinstance(array, Array) and np.array_equal(array.matrix, matrix)
    reference = SimpleNamespace(label="ref")
    clone = translate_connector(pc.CloneConnector(reference),
                                reference_spec_of=lambda p: (FixedProbability(p_connect=0.2), 3, 4)
                                if p is reference else None)
    assert clone == Clone(FixedProbability(p_connect=0.2), 3, 4)
    # not native: the caller falls back
    assert translate_connector(pc.AllToAllConnector()) is None
    assert translate_connector(pc.FixedNumberPostConnector(
        RandomDistribution("uniform_int", low=1, high=3))) is None
    assert translate_connector(pc.FixedProbabilityConnector(
        0.1, allow_self_connections="NoMutual")) is None


def test_pynn_distance_values():
    from spinn.pynn.spatial import distance_value
    d = np.array([0.0, 1.0, 4.0])
    assert_allclose(distance_value("0.2 + 0.3*d").of_distance(d), 0.2 + 0.3 * d)
    assert_allclose(distance_value(lambda d: d ** 2).of_distance(d), d ** 2)
    lazy = LazyArray("0.2 + 0.3*d", shape=(4, 5))
    assert_allclose(distance_value(lazy).of_distance(d), 0.2 + 0.3 * d)
    assert_allclose(distance_value(2.0 * lazy + 1.0).of_distance(d), 2.0 * (0.2 + 0.3 * d) + 1.0)
    assert distance_value(LazyArray(1.5, shape=(4, 5))) is None
    assert distance_value(1.5) is None
    assert distance_value(RandomDistribution("uniform", low=0, high=1)) is None
    assert distance_value(Ring(3)) is None
