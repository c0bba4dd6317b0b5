"""Random connectors: fixed probability, and a fixed number of sources per target.

Each generation block draws from its own keyed stream (``streams.generator(b)``),
so a block's synapses are the same whichever rank generates it. Both run in
time proportional to the synapses they make, with no loop over targets.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .base import SYNAPSE_BLOCK, Block, Connector, Geometry, Streams, empty_block

__all__ = ["FixedProbability", "FixedNumberPre", "bernoulli_hits", "distinct_draws",
           "uniform_integers"]


def bernoulli_hits(rng: np.random.Generator, p: float, n: int) -> np.ndarray:
    """Sorted positions in ``[0, n)``, each present independently with probability ``p``.

    Jumps from hit to hit with geometric gaps, so the cost is proportional
    to the hits, not to ``n``.

    >>> hits = bernoulli_hits(np.random.default_rng(1), 0.25, 100000)
    >>> bool(abs(hits.size - 25000) < 600), bool((np.diff(hits) > 0).all())
    (True, True)
    """
    if p <= 0.0 or n <= 0:
        return np.zeros(0, dtype=np.int64)
    if p >= 1.0:
        return np.arange(n, dtype=np.int64)
    chunks = []
    last = -1
    while True:
        expected = (n - 1 - last) * p
        gaps = rng.geometric(p, int(expected + 4.0 * math.sqrt(expected + 1.0)) + 16)
        # a gap past the end ends the row; a tiny p gives gaps of 2**63 - 1,
        # whose sum would wrap round to negative positions and never end
        np.minimum(gaps, n + 1, out=gaps)
        hits = last + np.cumsum(gaps)
        if hits[-1] >= n:
            chunks.append(hits[hits < n])
            break
        chunks.append(hits)
        last = int(hits[-1])
    return np.concatenate(chunks).astype(np.int64, copy=False)


def uniform_integers(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    """For each row ``i``, ``n`` integers uniform in ``[0, pool[i])`` (int32 where
    they fit): scaled uniform doubles, much faster than ``integers`` with a
    bound per row, and unbiased to within ``pool / 2**53``."""
    pool = np.asarray(pool, dtype=np.int64)
    dtype = np.int32 if pool.size == 0 or int(pool.max()) < 2**31 else np.int64
    draws = (rng.random((pool.size, n)) * pool[:, None]).astype(dtype)
    return np.minimum(draws, (pool - 1)[:, None].astype(dtype), out=draws)


def distinct_draws(rng: np.random.Generator, pool: np.ndarray, n: int) -> np.ndarray:
    """For each row ``i``, ``n`` distinct integers in ``[0, pool[i])``, sorted.

    Sparse rows (``2 n <= pool``): draw with replacement, then redraw the
    repeats until none are left (re-sorting only the rows that had some).
    The rule treats every value alike, so each row is a uniformly chosen
    subset. Dense rows: the first ``n`` of a random permutation (sorting
    random keys), in chunks of rows to bound memory.
    """
    pool = np.asarray(pool, dtype=np.int64)
    m = pool.size
    if n == 0 or m == 0:
        return np.zeros((m, n), dtype=np.int64)
    if 2 * n <= int(pool.min()):
        draws = uniform_integers(rng, pool, n)
        draws.sort(axis=1)
        rows = np.arange(m)
        while True:
            sub = draws[rows]
            repeat = np.zeros(sub.shape, dtype=bool)
            repeat[:, 1:] = sub[:, 1:] == sub[:, :-1]
            has = repeat.any(axis=1)
            if not has.any():
                return draws
            rows, sub, repeat = rows[has], sub[has], repeat[has]
            which = np.nonzero(repeat)[0]
            sub[repeat] = uniform_integers(rng, pool[rows][which], 1)[:, 0]
            sub.sort(axis=1)
            draws[rows] = sub
    width = int(pool.max())
    out = np.empty((m, n), dtype=np.int64)
    rows_per_chunk = max(1, (1 << 22) // max(width, 1))
    columns = np.arange(width)
    for a in range(0, m, rows_per_chunk):
        b = min(m, a + rows_per_chunk)
        keys = rng.random((b - a, width))
        keys[columns[None, :] >= pool[a:b, None]] = np.inf
        out[a:b] = np.sort(np.argpartition(keys, n - 1, axis=1)[:, :n], axis=1)
    return out


@dataclass(frozen=True)
class FixedProbability(Connector):
    """Each (pre, post) pair independently with probability ``p_connect``
    (PyNN's ``FixedProbabilityConnector``)."""
    p_connect: float = 0.0

    def generate(self, geometry: Geometry, lo: int, hi: int, streams: Streams) -> Block:
        n_pre = geometry.n_pre
        hits = bernoulli_hits(streams.generator(lo // SYNAPSE_BLOCK), self.p_connect,
                              n_pre * (hi - lo))
        if hits.size == 0:
            return empty_block()
        post, pre = np.divmod(hits, n_pre)
        return self.drop_self(geometry, Block(pre, post + lo))

    def expected_synapses(self, geometry: Geometry) -> float:
        pairs = float(geometry.n_pre) * geometry.n_post
        if self.excludes_self(geometry):
            pairs -= geometry.n_shared
        return self.p_connect * pairs

    def footprint(self, geometry: Geometry, lo: int, hi: int):
        return np.array([[0, geometry.n_pre]], dtype=np.int64)


@dataclass(frozen=True)
class FixedNumberPre(Connector):
    """Each post index gets ``n`` pre indices drawn uniformly, with or without
    replacement (PyNN's ``FixedNumberPreConnector``)."""
    n: int = 0
    with_replacement: bool = False

    def generate(self, geometry: Geometry, lo: int, hi: int, streams: Streams) -> Block:
        n = self.n
        if n == 0:
            return empty_block()
        posts = np.arange(lo, hi, dtype=np.int64)
        excluded = (geometry.self_pre(posts) if self.excludes_self(geometry)
                    else np.full(posts.size, -1, dtype=np.int64))
        pool = geometry.n_pre - (excluded >= 0)
        short = pool < (1 if self.with_replacement else n)
        if short.any():
            need = "one source" if self.with_replacement else f"{n} distinct sources"
            raise geometry.error(
                f"FixedNumberPreConnector(n={n}) needs {need} for post index "
                f"{int(posts[short][0])} but only {int(pool[short][0])} are available")
        rng = streams.generator(lo // SYNAPSE_BLOCK)
        if self.with_replacement:
            draws = uniform_integers(rng, pool, n)
            draws.sort(axis=1)
        else:
            draws = distinct_draws(rng, pool, n)
        pre = draws.astype(np.int64).ravel()
        if (excluded >= 0).any():             # step over the neuron itself (order kept)
            pre += pre >= np.repeat(np.where(excluded >= 0, excluded, geometry.n_pre), n)
        return Block(pre, np.repeat(posts, n))

    def expected_synapses(self, geometry: Geometry) -> float:
        return float(self.n) * geometry.n_post

    def footprint(self, geometry: Geometry, lo: int, hi: int):
        return np.array([[0, geometry.n_pre]], dtype=np.int64)
