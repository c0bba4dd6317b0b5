"""PyNN's values (numbers, arrays, lazyarrays, RandomDistributions) as the
engine's frozen values (:mod:`spinn.values`).

A ``RandomDistribution`` becomes a :class:`~spinn.values.RandomValue`: the
distribution plus a stream key made of the generator's seed — the user's,
or, for an unseeded one (PyNN's default), the network seed from
``setup(rng_seed=...)`` — and the model coordinates of the value (what kind
of value, which object, which attribute, which change). Every MPI process
derives the same key, any rank draws any neuron's value, and a run is
reproducible whether or not the script seeded anything.
"""
from __future__ import annotations

import numpy as np
from lazyarray import larray
from pyNN.random import RandomDistribution

from ..errors import NetworkError
from ..rng import name_code, stream_key
from ..validation import Unnamed
from ..values import RandomValue, is_homogeneous, take
from .simulator import state

#: kinds of value, folded into stream keys
PARAMETER, INITIAL, SYNAPSE, SYNAPSE_SET, POSITIONS = 1, 2, 3, 4, 5


def random_value(distribution: RandomDistribution, *coordinates,
                 default_seed=None) -> RandomValue:
    """A RandomDistribution as a keyed RandomValue at ``coordinates``.

    An unseeded distribution takes ``default_seed`` (a population's own
    seed, :mod:`spinn.compat`) or else the network seed."""
    seed = getattr(distribution.rng, "seed", None)
    if seed is None:
        seed = state.network.seed if default_seed is None else default_seed
    return RandomValue(distribution.name, tuple(distribution.parameters.items()),
                       int(stream_key(int(seed), *coordinates)))


def checked_random_value(distribution: RandomDistribution, owner, name: str,
                         *coordinates, default_seed=None) -> RandomValue:
    """:func:`random_value`, a distribution it cannot draw from (a NaN or
    infinite parameter, a negative width ...) refused with a NetworkError
    naming ``owner`` (a description, or None: :class:`~spinn.validation.Unnamed`)
    and the parameter ``name``."""
    try:
        params = dict(distribution.parameters)
        for key, v in params.items():
            if isinstance(v, (int, float, np.integer, np.floating)) and not np.isfinite(v):
                raise ValueError(f"its parameter {key} is not finite")
        return random_value(distribution, *coordinates, default_seed=default_seed)
    except (ValueError, OverflowError, TypeError, ZeroDivisionError) as exc:
        args = ", ".join(f"{k}={v!r}" for k, v in distribution.parameters.items())
        message = (f"{name} = RandomDistribution('{distribution.name}', {args}) cannot be "
                   f"drawn from: {exc}")
        if owner is None:
            raise Unnamed(message) from None
        raise NetworkError(f"{owner}: {message}") from None


def _population_name(object_id: int):
    pops = state.network.populations
    return pops[object_id].describe() if object_id < len(pops) else None


def is_random(value) -> bool:
    return isinstance(value, larray) and isinstance(value.base_value, RandomDistribution)


def neuron_value(value, size: int, kind: int, object_id: int, name: str, seed=None):
    """A per-neuron value as the engine's: a number, a read-only array, or a
    RandomValue keyed by (kind, object, name, how often it was set); an
    unseeded distribution draws from ``seed`` (the population's own) if given."""
    if isinstance(value, RandomDistribution):
        value = larray(value, shape=(size,))
    if isinstance(value, larray):
        if is_random(value):
            serial = state.network.next_serial(kind, object_id, name)
            drawn = checked_random_value(value.base_value, _population_name(object_id),
                                         name, kind, object_id, name_code(name), serial,
                                         default_seed=seed)
            if not value.operations:
                return drawn
            # arithmetic on the distribution: apply it to the keyed draw
            result = larray(take(drawn, np.arange(size)), shape=(size,))
            result.operations = list(value.operations)
            return np.asarray(result.evaluate(simplify=False), dtype=np.float64)
        if value.is_homogeneous:
            v = value.evaluate(simplify=True)
            if np.ndim(v) == 0:
                return float(v)
        value.shape = (size,)
        return _per_neuron(value.evaluate(simplify=False), size)
    if is_homogeneous(value):
        return float(value)
    return _per_neuron(value, size)


def _per_neuron(value, size: int):
    """An array of ``size`` values, or a number for a 0-d one (``{'rate': [5]}`` on
    one neuron can evaluate to a 0-d array: PyNN scenario test_issue241)."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return float(array)
    return array


def values_at(value, indices: np.ndarray) -> np.ndarray:
    """An engine per-neuron value at ``indices``."""
    return take(value, np.asarray(indices, dtype=np.int64))
