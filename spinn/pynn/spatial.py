"""PyNN's spatial objects and the connectors of :mod:`spinn.connectors`
beyond the basic ones, translated into engine descriptions.

* :func:`positions_of`: a Population's structure (or explicit positions)
  as a :mod:`spinn.positions` position description;
* :func:`space_spec`: a ``pyNN.space.Space`` as a :class:`~spinn.positions.SpaceSpec`;
* :func:`translate_connector`: FixedNumberPost, FixedTotalNumber,
  DistanceDependentProbability, IndexBasedProbability,
  DisplacementDependentProbability, Array and Clone connectors as engine
  connectors (None for any other connector, and for options the engine
  does not generate natively, so the caller can fall back);
* :func:`distance_value`: a synapse parameter given as a function of
  distance (a string in ``d`` or a callable) as a
  :class:`~spinn.connectors.DistanceExpression`.
"""
from __future__ import annotations

import numbers
import operator

import numpy as np
from pyNN import connectors as C
from pyNN import space as pyspace
from pyNN.core import IndexBasedExpression
from pyNN.random import RandomDistribution
from lazyarray import larray

from ..positions import (Cuboid, ExplicitPositions, Grid2D, Grid3D, Line, RandomStructure,
                     SpaceSpec, Sphere)
from ..connectors import (Array, Clone, Connector, DisplacementDependentProbability,
                          DistanceDependentProbability, DistanceExpression, FixedNumberPost,
                          FixedTotalNumber, IndexBased)
from ..rng import name_code, stream_key

__all__ = ["positions_of", "space_spec", "translate_connector", "distance_value",
           "positions_key"]


def positions_key(seed: int, population_id: int) -> int:
    """The stream key of a population's random positions (random structure
    or randomly filled grid)."""
    return int(stream_key(seed, population_id, name_code("positions")))


def _boundary(shape):
    if isinstance(shape, pyspace.Cuboid):
        return Cuboid(float(shape.width), float(shape.height), float(shape.depth))
    if isinstance(shape, pyspace.Sphere):
        return Sphere(float(shape.radius))
    return None


def positions_of(population, seed: int, population_id: int):
    """The engine position description of a PyNN Population.

    Parameters
    ----------
    population : pyNN Population
        its ``structure`` (Line, Grid2D, Grid3D, RandomStructure), or the
        positions the script set explicitly (``structure`` None).
    seed, population_id : int
        key the random positions of a RandomStructure or a randomly filled
        grid (the caller chooses the seed: the network seed, or one from the
        structure's rng if the user seeded it).

    Returns
    -------
    A :mod:`spinn.positions` description, or None for an object without
    positions. A RandomStructure (and a grid with ``fill_order="random"``)
    gets keyed positions that every process agrees on, which are *not* the
    ones PyNN's ``population.positions`` draws from the structure's rng
    (nor positions PyNN already drew and cached). A structure the engine does not
    know (a user subclass, or a RandomStructure in another Shape) is
    evaluated once by PyNN and kept as explicit positions.
    """
    structure = getattr(population, "structure", None)
    size = int(population.size)
    key = positions_key(seed, population_id)
    if structure is None:
        positions = getattr(population, "positions", None)
        return None if positions is None else ExplicitPositions(
            np.asarray(positions, dtype=np.float64))
    if isinstance(structure, pyspace.Line):
        return Line(float(structure.dx), float(structure.x0), float(structure.y),
                                 float(structure.z))
    if isinstance(structure, pyspace.Grid2D):
        return Grid2D(
            float(structure.aspect_ratio), float(structure.dx), float(structure.dy),
            float(structure.x0), float(structure.y0), float(structure.z),
            fill_order=structure.fill_order, size=size,
            key=key if structure.fill_order == "random" else None)
    if isinstance(structure, pyspace.Grid3D):
        a, b = structure.aspect_ratios
        return Grid3D(
            float(a), float(b), float(structure.dx), float(structure.dy), float(structure.dz),
            float(structure.x0), float(structure.y0), float(structure.z0),
            fill_order=structure.fill_order, size=size,
            key=key if structure.fill_order == "random" else None)
    if isinstance(structure, pyspace.RandomStructure):
        boundary = _boundary(structure.boundary)
        if boundary is not None:
            return RandomStructure(boundary, tuple(structure.origin), key)
    return ExplicitPositions(np.asarray(population.positions, dtype=np.float64))


def space_spec(space) -> SpaceSpec:
    """A ``pyNN.space.Space`` as the engine's :class:`~spinn.positions.SpaceSpec`."""
    axes = "".join("xyz"[int(a)] for a in np.asarray(space.axes).ravel())
    periodic = space.periodic_boundaries
    return SpaceSpec(axes=axes, scale_factor=space.scale_factor,
                                  offset=space.offset,
                                  periodic_boundaries=None if periodic is None else tuple(periodic))


def _whole(n) -> int | None:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 0:
        return None
    return int(n)


def translate_connector(connector, reference_spec_of=None):
    """The engine connector for a PyNN connector, or None.

    Parameters
    ----------
    connector : pyNN.connectors.Connector
    reference_spec_of : callable, optional
        for a CloneConnector: ``reference_spec_of(pyNN_projection) ->
        (connector, seed, projection_id)``, the engine spec of the
        reference projection.

    Returns
    -------
    A :mod:`spinn.connectors` connector; None for a connector this module
    does not translate, or an option the engine does not generate natively
    (``n`` given as a RandomDistribution, ``allow_self_connections=
    'NoMutual'``, a clone of a projection without an engine connector).
    An IndexBasedProbabilityConnector's expression is kept as it is: it is
    called with (pre, post) index arrays on every rank, without a
    ``projection`` attribute unless the caller sets one.
    """
    allow_self = getattr(connector, "allow_self_connections", True)
    if not isinstance(allow_self, (bool, np.bool_)):
        return None                          # 'NoMutual'
    allow_self = bool(allow_self)
    if isinstance(connector, C.FixedTotalNumberConnector):
        n = _whole(connector.n)
        return None if n is None else FixedTotalNumber(
            n, with_replacement=bool(connector.with_replacement),
            allow_self_connections=allow_self)
    if isinstance(connector, C.FixedNumberPostConnector):
        n = _whole(connector.n)
        return None if n is None else FixedNumberPost(
            n, with_replacement=bool(connector.with_replacement),
            allow_self_connections=allow_self)
    if isinstance(connector, C.DistanceDependentProbabilityConnector):
        return DistanceDependentProbability(connector.d_expression, allow_self)
    if isinstance(connector, C.DisplacementDependentProbabilityConnector):
        expression = connector.index_expression
        return DisplacementDependentProbability(expression._disp_function, allow_self)
    if isinstance(connector, C.IndexBasedProbabilityConnector):
        return IndexBased(connector.index_expression, allow_self)
    if isinstance(connector, C.ArrayConnector):
        return Array.make(np.asarray(connector.array, dtype=bool))
    if isinstance(connector, C.CloneConnector):
        if reference_spec_of is None:
            raise TypeError("translate_connector needs reference_spec_of to translate a "
                            "CloneConnector")
        spec = reference_spec_of(connector.reference_projection)
        if spec is None or not isinstance(spec[0], Connector):
            return None
        reference, seed, projection_id = spec
        return Clone(reference, seed, projection_id)
    return None


class LazyDistanceFunction:
    """A function of distance followed by lazyarray's arithmetic
    (``operations``: pairs of an ``operator`` function name and a number,
    or None for a unary operation)."""

    def __init__(self, function, operations):
        self.function = function
        self.operations = tuple(operations)

    def __call__(self, d):
        x = self.function(d)
        for name, arg in self.operations:
            f = getattr(operator, name)
            x = f(x) if arg is None else f(x, arg)
        return x


def _operations(ops):
    """lazyarray operations as (operator name, number or None), or None if
    some operation is not a plain arithmetic operation with a number."""
    out = []
    for f, arg in ops:
        name = getattr(f, "__name__", None)
        if name is None or getattr(operator, name, None) is not f:
            return None
        if arg is not None and not isinstance(arg, numbers.Number):
            return None
        out.append((name, None if arg is None else float(arg)))
    return out


def distance_value(value):
    """A synapse parameter given as a function of distance, as a
    :class:`~spinn.connectors.DistanceExpression`; None for anything else.

    ``value`` is a string in ``d`` (``"0.2 + 0.3 * d"``), a callable of
    distance, or PyNN's lazy array holding one (PyNN turns strings into
    ``lambda d: ...`` functions; arithmetic with numbers on the lazy array
    is kept).
    """
    if isinstance(value, str):
        return DistanceExpression(value)
    if isinstance(value, larray):
        base = value.base_value
        if (not callable(base) or isinstance(base, (IndexBasedExpression, RandomDistribution,
                                                     larray))):
            return None
        if not value.operations:
            return DistanceExpression(base)
        operations = _operations(value.operations)
        return None if operations is None else DistanceExpression(
            LazyDistanceFunction(base, operations))
    if callable(value) and not isinstance(value, (IndexBasedExpression, RandomDistribution)):
        return DistanceExpression(value)
    return None
