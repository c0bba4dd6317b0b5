"""Random streams keyed by model coordinates, never by rank or slice.

Two kinds of randomness exist in the engine:

* **Per-step streams** (Poisson sources): a counter-based hash of
  ``(seed, stream, neuron gid, step)`` gives one uniform number per neuron and
  step. It needs no state, so it is identical however the neurons are sliced
  and placed, and a checkpoint only has to store the step.
* **Build-time streams** (connectors, random weights and delays): a numpy
  ``Generator`` per *block* of a projection's index space, seeded from
  ``(seed, projection id, kind, block)``. Every rank that needs part of a
  block generates the whole block and keeps its part, so the result does not
  depend on the slicing.
"""
from __future__ import annotations

import math

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


def hashed_uniform(key: np.uint64, gids: np.ndarray, step: int) -> np.ndarray:
    """One uniform number in [0, 1) per gid for this step.

    Pure function of ``(key, gid, step)``: slicing-independent.
    """
    with np.errstate(over="ignore"):
        x = gids.astype(np.uint64) * _GOLDEN ^ (np.uint64(step) * _M2) ^ key
        x = _mix64(_mix64(x))
    return (x >> _S11).astype(np.float64) * _TWO53


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


# -- distributions ----------------------------------------------------------
# PyNN's RandomDistribution names and parameter names, drawn from a numpy
# Generator. Weights and delays use these.

def _normal_clipped(rng, n, mu, sigma, low=-np.inf, high=np.inf):
    out = rng.normal(mu, sigma, n)
    bad = (out < low) | (out > high)
    while bad.any():
        out[bad] = rng.normal(mu, sigma, int(bad.sum()))
        bad = (out < low) | (out > high)
    return out


DISTRIBUTIONS = {
    "uniform": lambda rng, n, low, high: rng.uniform(low, high, n),
    "normal": lambda rng, n, mu, sigma: rng.normal(mu, sigma, n),
    "normal_clipped": _normal_clipped,
    "normal_clipped_to_boundary": lambda rng, n, mu, sigma, low, high:
        np.clip(rng.normal(mu, sigma, n), low, high),
    "exponential": lambda rng, n, beta: rng.exponential(beta, n),
    "gamma": lambda rng, n, k, theta: rng.gamma(k, theta, n),
    "lognormal": lambda rng, n, mu, sigma: rng.lognormal(mu, sigma, n),
    "uniform_int": lambda rng, n, low, high: rng.integers(low, high, n).astype(float),
    "poisson": lambda rng, n, lambda_: rng.poisson(lambda_, n).astype(float),
    "binomial": lambda rng, n, n_, p: rng.binomial(n_, p, n).astype(float),
    "vonmises": lambda rng, n, mu, kappa: rng.vonmises(mu, kappa, n),
}


def draw(rng: np.random.Generator, name: str, parameters: dict, n: int) -> np.ndarray:
    """Draw ``n`` values of the named PyNN distribution."""
    try:
        fn = DISTRIBUTIONS[name]
    except KeyError:
        raise ValueError(
            f"random distribution {name!r} is not supported; "
            f"choose one of {sorted(DISTRIBUTIONS)}") from None
    return np.asarray(fn(rng, n, **parameters), dtype=np.float64)
