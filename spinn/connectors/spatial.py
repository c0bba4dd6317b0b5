"""Connectors whose probability depends on each (pre, post) pair: on the
distance, on the displacement, or on the indices; and distance expressions
as synaptic values.

Each generation block evaluates the probabilities of every pre index with
the block's posts (``n_pre x 64`` values, in chunks of pre indices so the
memory stays bounded) and keeps a pair when a uniform number from the
block's keyed stream falls below its probability, as PyNN does
(``uniform < p``: a probability above 1 always connects, below 0 or NaN
never).

User expressions are stored as given (a string in ``d``, or a Python
callable); a description is identified (equality, network digest) by
:func:`expression_digest`, which reads a callable's code and attributes but
not the ``projection`` PyNN may attach to an index-based expression.
"""
from __future__ import annotations

import hashlib
import types
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..network import fingerprint
from .base import SYNAPSE_BLOCK, Block, Connector, Geometry, Streams, empty_block
from .basic import intervals

__all__ = ["DistanceDependentProbability", "IndexBased", "DisplacementDependentProbability",
           "DistanceExpression", "expression_digest", "distance_function"]

#: pre indices per chunk of probability evaluation (memory: 64 x this)
_PRE_CHUNK = 4096
#: (pre, post) pairs evaluated at most by expected_synapses (a sample beyond)
_ESTIMATE_PAIRS = 1 << 22

# names an expression in ``d`` can use: PyNN evaluates connector expressions
# with lazyarray's math functions, e and pi in scope, and synapse-parameter
# strings with numpy as ``np``; both sets are allowed here.
_MATH_NAMES = ("arccos", "arcsin", "arctan", "arctan2", "ceil", "cos", "cosh", "exp", "fabs",
               "floor", "fmod", "hypot", "ldexp", "log", "log10", "modf", "power", "sin",
               "sinh", "sqrt", "tan", "tanh", "maximum", "minimum")
_NAMESPACE = {name: getattr(np, name) for name in _MATH_NAMES}
_NAMESPACE.update(e=np.e, pi=np.pi, np=np, numpy=np)

#: attributes PyNN attaches to an expression object (not part of its identity)
_NOT_IDENTITY = frozenset({"projection", "_projection"})


@lru_cache(maxsize=256)
def distance_function(expression: str):
    """The function ``lambda d: <expression>`` with numpy math in scope.

    >>> distance_function("exp(-d / 2.0)")(np.array([0.0, 2.0])).round(3).tolist()
    [1.0, 0.368]
    """
    try:
        code = compile(f"lambda d: ({expression})", "<distance expression>", "eval")
    except SyntaxError as err:
        raise ValueError(f"distance expression {expression!r} is not a valid Python "
                         f"expression in d: {err.msg}") from None
    function = eval(code, dict(_NAMESPACE))
    try:
        function(np.zeros(1))
    except NameError as err:
        raise ValueError(f"distance expression {expression!r}: {err}; use d, numpy math "
                         f"functions ({', '.join(_MATH_NAMES[:8])}, ...), e, pi or np") from None
    except Exception:
        pass  # other errors are the expression's business at evaluation time
    return function


def _is_plain_object(value) -> bool:
    return (hasattr(value, "__dict__") and not isinstance(
        value, (type, types.ModuleType, types.FunctionType, types.MethodType, np.ndarray)))


def _code_identity(code: types.CodeType) -> tuple:
    """What a code object computes: bytecode, constants (nested code
    included), and the names it reads (``co_code`` alone only holds indexes
    into them: ``np.exp(d)`` and ``np.log(d)`` share it)."""
    consts = tuple(_code_identity(c) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    return (code.co_code, consts, code.co_names, code.co_varnames, code.co_freevars)


def _function_digest(function: types.FunctionType, depth: int) -> str:
    closure = tuple(expression_digest(cell.cell_contents, depth + 1)
                    if _is_plain_object(cell.cell_contents) or callable(cell.cell_contents)
                    else fingerprint(cell.cell_contents).hex()
                    for cell in (function.__closure__ or ()))
    return fingerprint(("function", function.__qualname__, _code_identity(function.__code__),
                        function.__defaults__, closure)).hex()


def expression_digest(expression, _depth: int = 0) -> str:
    """A hex digest that identifies a user expression in every process.

    A string by its text; a function by its code and constants (see
    :func:`spinn.network.fingerprint`); any other callable object by its
    class, the code of its ``__call__`` and its attributes, leaving out the
    ``projection`` PyNN attaches to index-based expressions. A function's
    identity includes the names its code reads and its closure, but not the
    current values of the globals it reads.

    >>> class Ring:
    ...     def __init__(self, k): self.k = k
    ...     def __call__(self, i, j): return (i - j) % self.k == 0
    >>> a, b = Ring(3), Ring(3)
    >>> b.projection = object()
    >>> expression_digest(a) == expression_digest(b) != expression_digest(Ring(4))
    True
    """
    if isinstance(expression, str):
        return hashlib.sha256(f"str:{expression}".encode()).hexdigest()
    if isinstance(expression, types.FunctionType):
        return _function_digest(expression, _depth)
    if _depth > 8 or not _is_plain_object(expression):
        return fingerprint(expression).hex()
    cls = type(expression)
    call = getattr(cls, "__call__", None)
    call = _code_identity(call.__code__) if isinstance(call, types.FunctionType) else None
    items = []
    for name, value in sorted(vars(expression).items()):
        if name in _NOT_IDENTITY:
            continue
        items.append((name, expression_digest(value, _depth + 1) if _is_plain_object(value)
                      else fingerprint(value).hex()))
    return fingerprint((f"{cls.__module__}.{cls.__qualname__}",
                        call, tuple(items))).hex()


def _as_function(expression):
    if isinstance(expression, str):
        return distance_function(expression)
    if not callable(expression):
        raise TypeError(f"an expression must be a string in d or a callable, "
                        f"got {type(expression).__name__}")
    return expression


def _values(geometry: Geometry, what: str, result, shape) -> np.ndarray:
    """A user expression's result as float64 of ``shape``."""
    try:
        return np.broadcast_to(np.asarray(result, dtype=np.float64), shape)
    except (ValueError, TypeError) as err:
        raise geometry.error(f"{what} returned {np.shape(result)} values for {shape} "
                             f"pairs ({err}); it must work elementwise on numpy arrays") from None


# -- probability connectors ---------------------------------------------------------

@dataclass(frozen=True, init=False)
class _PairProbability(Connector):
    """A connection probability per (pre, post) pair, drawn per block."""

    def probabilities(self, geometry: Geometry, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
        """Probabilities ``(post.size, pre.size)`` of the pairs of ``pre`` and ``post``."""
        raise NotImplementedError

    def _chunks(self, n_pre: int):
        for start in range(0, n_pre, _PRE_CHUNK):
            yield np.arange(start, min(n_pre, start + _PRE_CHUNK), dtype=np.int64)

    def generate(self, geometry: Geometry, lo: int, hi: int, streams: Streams) -> Block:
        posts = np.arange(lo, hi, dtype=np.int64)
        if posts.size == 0 or geometry.n_pre == 0:
            return empty_block()
        rng = streams.generator(lo // SYNAPSE_BLOCK)
        pres, post_of = [], []
        for chunk in self._chunks(geometry.n_pre):
            p = self.probabilities(geometry, chunk, posts)
            row, column = np.nonzero(rng.random(p.shape) < p)
            pres.append(chunk[column])
            post_of.append(posts[row])
        pre, post = np.concatenate(pres), np.concatenate(post_of)
        order = np.lexsort((pre, post))
        return self.drop_self(geometry, Block(pre[order], post[order]))

    def expected_synapses(self, geometry: Geometry) -> float:
        """Sum of the (clipped) probabilities: exact up to ``2**22`` pairs,
        else from evenly spaced pre and post indices."""
        n_pre, n_post = geometry.n_pre, geometry.n_post
        if n_pre == 0 or n_post == 0:
            return 0.0
        k_pre = min(n_pre, _ESTIMATE_PAIRS)
        k_post = min(n_post, max(1, _ESTIMATE_PAIRS // k_pre))
        pres = np.arange(k_pre, dtype=np.int64) * n_pre // k_pre
        posts = np.arange(k_post, dtype=np.int64) * n_post // k_post
        excluded = self.excludes_self(geometry)
        total, pairs = 0.0, 0
        step = max(SYNAPSE_BLOCK, (1 << 18) // min(k_pre, _PRE_CHUNK))
        for start in range(0, k_post, step):
            block_posts = posts[start:start + step]
            for first in range(0, k_pre, _PRE_CHUNK):
                chunk = pres[first:first + _PRE_CHUNK]
                p = np.clip(np.nan_to_num(self.probabilities(geometry, chunk, block_posts),
                                          nan=0.0), 0.0, 1.0)
                pairs += p.size
                if excluded:
                    own = geometry.self_pre(block_posts)
                    mask = own[:, None] == chunk[None, :]
                    p = np.where(mask, 0.0, p)
                    pairs -= int(mask.sum())
                total += float(p.sum())
        allowed = float(n_pre) * n_post - (geometry.n_shared if excluded else 0)
        return total / max(pairs, 1) * allowed if pairs else 0.0

    def footprint(self, geometry: Geometry, lo: int, hi: int):
        """The pre indices with a nonzero probability to some post of the block."""
        posts = np.arange(lo, hi, dtype=np.int64)
        reach = [chunk[(self.probabilities(geometry, chunk, posts) > 0).any(axis=0)]
                 for chunk in self._chunks(geometry.n_pre)]
        return intervals(np.concatenate(reach) if reach else np.zeros(0, dtype=np.int64))


def _pair_distances(geometry: Geometry, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Distances ``(post.size, pre.size)`` in the projection's space."""
    if geometry.space is None:
        raise geometry.error("this connector needs a Space to measure distances")
    a = geometry.positions("pre", pre)
    b = geometry.positions("post", post)
    return geometry.space.distances(a[:, None, :], b[:, :, None])


@dataclass(frozen=True, init=False)
class DistanceDependentProbability(_PairProbability):
    """Each pair with a probability given by its distance (PyNN's
    ``DistanceDependentProbabilityConnector``).

    Parameters
    ----------
    d_expression : str or callable
        the probability as an expression in ``d`` (the distance in the
        projection's space, position units), e.g. ``"exp(-d / 100.0)"`` or
        ``"d < 50"``, with numpy math functions, ``e`` and ``pi``; or a
        function of a distance array.
    allow_self_connections : bool
        if False, a neuron on both sides never connects to itself.
    """
    #: reads cell positions (the PyNN layer supplies them and a Space)
    needs_positions = True

    d_expression: object = field(default=None, compare=False)
    expression_key: str = ""

    def __init__(self, d_expression, allow_self_connections: bool = True):
        _as_function(d_expression)   # fail early on a bad expression
        object.__setattr__(self, "d_expression", d_expression)
        object.__setattr__(self, "expression_key", expression_digest(d_expression))
        object.__setattr__(self, "allow_self_connections", bool(allow_self_connections))

    def probabilities(self, geometry, pre, post):
        d = _pair_distances(geometry, pre, post)
        p = _as_function(self.d_expression)(d.ravel())
        return _values(geometry, f"distance expression {self.d_expression!r}", p,
                       d.size).reshape(d.shape)


@dataclass(frozen=True, init=False)
class IndexBased(_PairProbability):
    """Each pair ``(i, j)`` with probability ``expression(i, j)`` (PyNN's
    ``IndexBasedProbabilityConnector``).

    ``expression`` is called with two int64 arrays of equal length (pre
    indices, post indices; PyNN's convention for arrays) and returns one
    probability per pair (or one number for all). It must be a pure
    function of the indices: every rank evaluates it for its own blocks.
    """
    expression: object = field(default=None, compare=False)
    expression_key: str = ""

    def __init__(self, expression, allow_self_connections: bool = True):
        if not callable(expression):
            raise TypeError("IndexBased expression must be callable as expression(i, j), got "
                            f"{type(expression).__name__}")
        object.__setattr__(self, "expression", expression)
        object.__setattr__(self, "expression_key", expression_digest(expression))
        object.__setattr__(self, "allow_self_connections", bool(allow_self_connections))

    def probabilities(self, geometry, pre, post):
        i = np.tile(pre, post.size)
        j = np.repeat(post, pre.size)
        p = self.expression(i, j)
        return _values(geometry, f"index expression {type(self.expression).__name__}", p,
                       i.size).reshape(post.size, pre.size)


@dataclass(frozen=True, init=False)
class DisplacementDependentProbability(_PairProbability):
    """Each pair with a probability given by its displacement (PyNN's
    ``DisplacementDependentProbabilityConnector``).

    ``disp_function`` receives the displacements ``post position - pre
    position`` as a ``(3, k)`` array (raw positions: as in PyNN the
    projection's Space is not applied) and returns ``k`` probabilities.
    """
    #: reads cell positions (the PyNN layer supplies them and a Space)
    needs_positions = True

    disp_function: object = field(default=None, compare=False)
    expression_key: str = ""

    def __init__(self, disp_function, allow_self_connections: bool = True):
        if not callable(disp_function):
            raise TypeError("DisplacementDependentProbability needs a callable of a (3, k) "
                            f"displacement array, got {type(disp_function).__name__}")
        object.__setattr__(self, "disp_function", disp_function)
        object.__setattr__(self, "expression_key", expression_digest(disp_function))
        object.__setattr__(self, "allow_self_connections", bool(allow_self_connections))

    def probabilities(self, geometry, pre, post):
        a = geometry.positions("pre", pre)
        b = geometry.positions("post", post)
        displacement = (b[:, :, None] - a[:, None, :]).reshape(3, -1)
        p = self.disp_function(displacement)
        return _values(geometry, "displacement function", p,
                       displacement.shape[1]).reshape(post.size, pre.size)


# -- distance expressions as synaptic values ----------------------------------------

@dataclass(frozen=True, init=False)
class DistanceExpression:
    """A synaptic value (weight, delay) as a function of the pre-post distance.

    ``expression`` is a string in ``d`` (``"0.2 + 0.3 * d"``; numpy math,
    ``e``, ``pi`` and ``np`` in scope) or a callable of a distance array,
    as PyNN accepts for Projection synapse parameters. Distances are
    measured in the projection's Space.

    >>> from spinn.network import GidRange
    >>> from spinn.positions import Line, SpaceSpec
    >>> g = Geometry("p", GidRange(0, 4), GidRange(4, 4), space=SpaceSpec(),
    ...              positions=lambda side, i: Line(x0=0.0 if side == "pre" else 1.0).take(i))
    >>> DistanceExpression("0.5 * d").evaluate(g, np.array([0, 3]), np.array([2, 0])).tolist()
    [1.5, 1.0]
    """
    expression: object = field(default=None, compare=False)
    key: str = ""

    def __init__(self, expression):
        _as_function(expression)
        object.__setattr__(self, "expression", expression)
        object.__setattr__(self, "key", expression_digest(expression))

    def of_distance(self, d) -> np.ndarray:
        """Values for distances ``d`` (any shape) as float64."""
        d = np.asarray(d, dtype=np.float64)
        values = _as_function(self.expression)(d)
        return np.array(np.broadcast_to(np.asarray(values, dtype=np.float64), d.shape))

    def evaluate(self, geometry: Geometry, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
        """Values of the synapses from pre indices ``pre`` to post indices ``post``."""
        pre = np.asarray(pre, dtype=np.int64)
        post = np.asarray(post, dtype=np.int64)
        if pre.size == 0:
            return np.zeros(np.broadcast_shapes(pre.shape, post.shape), dtype=np.float64)
        return self.of_distance(geometry.distances(pre, post))

    def describe(self) -> str:
        return (f"distance expression {self.expression!r}" if isinstance(self.expression, str)
                else f"function of distance {getattr(self.expression, '__name__', '')}")
