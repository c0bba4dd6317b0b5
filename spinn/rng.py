"""Random streams keyed by model coordinates, never by rank or slice.

Two kinds of randomness exist in the engine:

* **Per-step streams** (Poisson sources): a counter-based hash of
  ``(seed, stream, neuron gid, step)`` gives one uniform number per neuron and
  step. It needs no state, so it is identical however the neurons are sliced
  and placed, and a checkpoint only has to store the step.
* **Build-time streams** (connectors, random parameters, initial values,
  weights and delays): :func:`keyed_generator` gives a numpy ``Generator``
  on a counter-based bit generator (Philox4x64) whose key is a
  :func:`stream_key` of model coordinates (seed, object id, attribute, ...)
  and whose counter starts at a block index. A rank that needs part of a
  block generates the whole block and keeps its part, so the result does not
  depend on the slicing, on the number of ranks, or on what else the rank
  generated before; no state is carried from one block to the next.
"""
from __future__ import annotations

import math
import zlib

import numpy as np

#: Width of a generation block (in post-synaptic indices, or pre-synaptic
#: indices for connectors that draw per source). Part of the model's
#: definition: changing it changes every random network.
BLOCK = 64

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO53 = 1.0 / float(1 << 53)


def _mix64(x):
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def stream_key(*parts: int) -> np.uint64:
    """Fold integers into one 64-bit stream key.

    >>> int(stream_key(1, 2)) == int(stream_key(1, 2))
    True
    >>> int(stream_key(1, 2)) != int(stream_key(2, 1))
    True
    """
    with np.errstate(over="ignore"):
        h = np.uint64(0x243F6A8885A308D3)
        for p in parts:
            h = _mix64(np.asarray(h ^ (np.uint64(int(p) & 0xFFFFFFFFFFFFFFFF) + _GOLDEN),
                                  dtype=np.uint64))
    return np.uint64(h)


def stream_keys(seed, *parts: int):
    """:func:`stream_key` of ``(seed, *parts)`` where ``seed`` is an int (a
    scalar key) or a per-neuron uint64 array of seeds (an array of keys, one
    per neuron: a group holding populations with their own seeds, see
    :func:`population_seed`).
    """
    if np.ndim(seed) == 0:
        return stream_key(int(seed), *parts)
    seeds = np.asarray(seed, dtype=np.uint64)
    uniq, inverse = np.unique(seeds, return_inverse=True)
    keys = np.array([stream_key(int(s), *parts) for s in uniq.tolist()], dtype=np.uint64)
    return keys[inverse.reshape(seeds.shape)]


def select_keys(key, index):
    """The keys of neurons ``index`` (a scalar key is everybody's)."""
    return key if np.ndim(key) == 0 else key[index]


#: tag folded into the seed of a population that has its own seed
_POPULATION_SEED = 0x5EED


def population_seed(seed: int, population_id: int) -> int:
    """The seed the per-step random streams of population ``population_id``
    use when it was given its own ``seed`` (sPyNNaker's ``Population(...,
    seed=...)``) instead of the network seed: a function of that seed and
    the population id only, so two populations with the same seed still
    draw different numbers, and neither depends on the network seed."""
    return int(stream_key(int(seed), _POPULATION_SEED, int(population_id)))


def hashed_uniform(key: np.uint64, gids: np.ndarray, step: int) -> np.ndarray:
    """One uniform number in [0, 1) per gid for this step.

    Pure function of ``(key, gid, step)``: slicing-independent. ``key`` is
    one stream key, or one per gid (:func:`stream_keys`).
    """
    with np.errstate(over="ignore"):
        x = gids.astype(np.uint64) * _GOLDEN ^ (np.uint64(step) * _M2) ^ key
        x = _mix64(_mix64(x))
    return (x >> _S11).astype(np.float64) * _TWO53


def synapse_keys(pre, post, k) -> np.ndarray:
    """One 64-bit key per synapse from its identity ``(pre gid, post gid, k)``
    (``k`` numbers the synapses of one pair): what the per-spike draws of a
    stochastic synapse are keyed by (:func:`hashed_uniform` with these keys in
    place of gids), the same whichever rank holds the synapse.

    >>> a = synapse_keys(np.array([1, 1]), np.array([2, 2]), np.array([0, 1]))
    >>> bool(a[0] != a[1]), bool(a[0] == synapse_keys([1], [2], [0])[0])
    (True, True)
    """
    with np.errstate(over="ignore"):
        h = np.full(np.shape(pre), 0x6A09E667F3BCC908, dtype=np.uint64)
        for part in (pre, post, k):
            h = _mix64(h ^ (np.asarray(part, dtype=np.int64).astype(np.uint64) + _GOLDEN))
    return h


def exact_exp(x) -> np.ndarray:
    """``exp(x)`` elementwise through the C library, value by value.

    numpy's vectorised ``exp`` may take different SIMD paths depending on the
    length and alignment of the array, which could make a neuron's propagator
    differ by one ulp between two slicings. Propagators are computed once at
    build time, so going through ``math.exp`` on the unique values costs
    little and keeps results bitwise identical whatever the slicing.
    """
    arr = np.asarray(x, dtype=np.float64)
    uniq, inverse = np.unique(arr, return_inverse=True)
    values = np.array([math.exp(v) for v in uniq.tolist()], dtype=np.float64)
    return values[inverse].reshape(arr.shape)


def expm1_exact(x) -> np.ndarray:
    """``expm1(x)`` value by value (see :func:`exact_exp`)."""
    arr = np.asarray(x, dtype=np.float64)
    uniq, inverse = np.unique(arr, return_inverse=True)
    values = np.array([math.expm1(v) for v in uniq.tolist()], dtype=np.float64)
    return values[inverse].reshape(arr.shape)


def block_generator(seed: int, *coordinates: int) -> np.random.Generator:
    """A numpy Generator for one block, keyed by model coordinates."""
    entropy = [int(seed) & 0xFFFFFFFFFFFFFFFF] + [int(c) for c in coordinates]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


#: second word of every Philox key: separates spinn's streams from a plain
#: ``Philox(key=k)`` a user might make
_PHILOX_TAG = 0x5350494E4E000002


def keyed_generator(key: int, block: int = 0, sub: int = 0) -> np.random.Generator:
    """The counter-based stream ``key`` positioned at ``(block, sub)``.

    Philox4x64 with the 128-bit key ``(key, tag)`` and the 256-bit counter
    starting at ``(0, 0, block, sub)``: each ``(block, sub)`` owns 2**128
    draws before it could reach the next, so blocks never overlap, and any
    block can be generated alone, in any order, on any rank.

    >>> a = keyed_generator(7, 3).random(2)
    >>> b = keyed_generator(7, 3).random(2)
    >>> bool((a == b).all()), bool((a != keyed_generator(7, 4).random(2)).all())
    (True, True)
    """
    words = np.array([int(key) & 0xFFFFFFFFFFFFFFFF, _PHILOX_TAG], dtype=np.uint64)
    counter = np.array([0, 0, int(block) & 0xFFFFFFFFFFFFFFFF,
                        int(sub) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=words, counter=counter))


def name_code(name: str) -> int:
    """A stable integer for a name, to fold into stream keys (Python's own
    ``hash`` of a string differs between processes).

    >>> name_code("weight") == name_code("weight") != name_code("delay")
    True
    """
    return zlib.crc32(name.encode())


# -- distributions ----------------------------------------------------------
# PyNN's RandomDistribution names and parameter names, drawn from a numpy
# Generator. Weights and delays use these.

def _normal_clipped(rng, size, mu, sigma, low=-np.inf, high=np.inf):
    out = rng.normal(mu, sigma, size)
    bad = (out < low) | (out > high)
    while bad.any():
        out[bad] = rng.normal(mu, sigma, int(bad.sum()))
        bad = (out < low) | (out > high)
    return out


#: PyNN's distribution names and parameter names (``pyNN.random.available_distributions``)
DISTRIBUTIONS = {
    "uniform": lambda rng, size, low, high: rng.uniform(low, high, size),
    "normal": lambda rng, size, mu, sigma: rng.normal(mu, sigma, size),
    "normal_clipped": _normal_clipped,
    "normal_clipped_to_boundary": lambda rng, size, mu, sigma, low, high:
        np.clip(rng.normal(mu, sigma, size), low, high),
    "exponential": lambda rng, size, beta: rng.exponential(beta, size),
    "gamma": lambda rng, size, k, theta: rng.gamma(k, theta, size),
    "lognormal": lambda rng, size, mu, sigma: rng.lognormal(mu, sigma, size),
    "uniform_int": lambda rng, size, low, high: rng.integers(low, high, size).astype(float),
    "poisson": lambda rng, size, lambda_: rng.poisson(lambda_, size).astype(float),
    "binomial": lambda rng, size, n, p: rng.binomial(int(n), p, size).astype(float),
    "vonmises": lambda rng, size, mu, kappa: rng.vonmises(mu, kappa, size),
}


def draw(rng: np.random.Generator, name: str, parameters: dict, size: int) -> np.ndarray:
    """Draw ``size`` values of the named PyNN distribution."""
    try:
        fn = DISTRIBUTIONS[name]
    except KeyError:
        raise ValueError(
            f"random distribution {name!r} is not supported; "
            f"choose one of {sorted(DISTRIBUTIONS)}") from None
    try:
        values = fn(rng, size, **parameters)
    except TypeError:
        raise ValueError(f"random distribution {name!r} takes the parameters "
                         f"{sorted(set(fn.__code__.co_varnames[2:fn.__code__.co_argcount]))}, "
                         f"got {sorted(parameters)}") from None
    return np.asarray(values, dtype=np.float64)
