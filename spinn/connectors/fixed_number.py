"""Connectors with a fixed number of targets per source, or a fixed total.

Both are generated locally, per post block, by walking a binary tree over
the projection's post blocks from the root to the requested block: at each
tree node a count (of one source's targets, or of all synapses) is split
between the two halves with the exact conditional law (binomial with
replacement, hypergeometric without), drawn from the node's own keyed
stream. A block's synapses therefore depend only on the nodes above it, so
any rank gets the same synapses for the blocks it owns, in any order, and
never draws the other blocks' synapses.

:class:`FixedNumberPost` splits every source's count at each node of the
path, so a block costs one draw per active source per tree level. The
path of the last block is kept (per geometry, connector and stream), so
consecutive blocks only redo the levels below their common ancestor: a rank
that owns a run of blocks pays about one draw per synapse per level, not
``n_pre`` per level per block.
"""
from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from ..network import gid_index
from .base import SYNAPSE_BLOCK, Block, Connector, Geometry, Streams, empty_block

__all__ = ["FixedNumberPost", "FixedTotalNumber", "hypergeometric", "distinct_sorted"]

#: sub-streams of these connectors (tree nodes, leaf draws)
_TREE, _LEAF = 1, 2

#: numpy's hypergeometric needs ngood and nbad below this
_NUMPY_HYPERGEOMETRIC_LIMIT = 10 ** 9


# -- samplers -------------------------------------------------------------------

def hypergeometric(rng: np.random.Generator, ngood: int, nbad: int, nsample: int) -> int:
    """One hypergeometric draw (good items among ``nsample`` drawn without
    replacement from ``ngood`` good and ``nbad`` bad), for any sizes.

    numpy's sampler needs ``ngood, nbad < 10**9``; beyond, the draw inverts
    the distribution function on a window of +-12 standard deviations around
    the mode, the probabilities built from the exact ratio of successive
    terms (the mass outside the window is below 1e-30).

    >>> rng = np.random.default_rng(3)
    >>> x = [hypergeometric(rng, 4 * 10**9, 6 * 10**9, 1000) for _ in range(400)]
    >>> bool(abs(np.mean(x) - 400) < 4)
    True
    """
    ngood, nbad, nsample = int(ngood), int(nbad), int(nsample)
    if ngood < _NUMPY_HYPERGEOMETRIC_LIMIT and nbad < _NUMPY_HYPERGEOMETRIC_LIMIT:
        return int(rng.hypergeometric(ngood, nbad, nsample))
    total = ngood + nbad
    low, high = max(0, nsample - nbad), min(nsample, ngood)
    if low == high:
        rng.random()   # one uniform per draw, whichever branch
        return low
    mode = min(high, max(low, (nsample + 1) * (ngood + 1) // (total + 2)))
    variance = nsample * (ngood / total) * (nbad / total) * (total - nsample) / max(total - 1, 1)
    reach = int(12.0 * math.sqrt(variance)) + 12
    a, b = max(low, mode - reach), min(high, mode + reach)
    x = np.arange(a, b, dtype=np.float64)
    # log p(x + 1) - log p(x) = log((G - x)(n - x)) - log((x + 1)(B - n + x + 1))
    step = (np.log(ngood - x) + np.log(nsample - x)
            - np.log(x + 1.0) - np.log(nbad - nsample + x + 1.0))
    log_p = np.concatenate(([0.0], np.cumsum(step)))
    p = np.exp(log_p - log_p.max())
    cdf = np.cumsum(p)
    u = rng.random() * cdf[-1]
    return a + int(min(np.searchsorted(cdf, u, side="right"), cdf.size - 1))


def distinct_sorted(rng: np.random.Generator, pool: int, k: int) -> np.ndarray:
    """``k`` distinct integers drawn uniformly from ``[0, pool)``, sorted.

    Sparse (``2 k <= pool``): draw the missing number with replacement and
    drop repeats until ``k`` are distinct; the rule treats every value
    alike, so the set is a uniform ``k``-subset, at a cost in proportion to
    ``k``. Dense: the complement, a sparse draw of ``pool - k`` values.

    >>> x = distinct_sorted(np.random.default_rng(0), 100, 60)
    >>> x.size, np.unique(x).size, bool(x.min() >= 0 and x.max() < 100)
    (60, 60, True)
    """
    pool, k = int(pool), int(k)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if 2 * k > pool:
        left_out = distinct_sorted(rng, pool, pool - k)
        keep = np.ones(pool, dtype=bool)
        keep[left_out] = False
        return np.flatnonzero(keep).astype(np.int64)
    chosen = np.zeros(0, dtype=np.int64)
    while chosen.size < k:
        chosen = np.sort(np.concatenate([chosen, rng.integers(0, pool, k - chosen.size)]))
        chosen = chosen[np.r_[True, chosen[1:] != chosen[:-1]]]
    return chosen


# -- per-geometry memos -----------------------------------------------------------
# Pure functions of the (immutable) geometry and connector, kept while the
# geometry lives; they only save recomputation and never change a result.

_MEMO: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_MEMO_LOCK = threading.Lock()


def _memo_get(geometry: Geometry, key):
    try:
        with _MEMO_LOCK:
            return _MEMO.get(geometry, {}).get(key)
    except TypeError:        # a geometry that cannot be weakly referenced
        return None


def _memo_put(geometry: Geometry, key, value) -> None:
    try:
        with _MEMO_LOCK:
            _MEMO.setdefault(geometry, {})[key] = value
    except TypeError:
        pass


def _own_posts(geometry: Geometry) -> np.ndarray:
    """For each pre index, the post index of the same neuron, or -1."""
    cached = _memo_get(geometry, "own_posts")
    if cached is None:
        pre_gids = np.asarray(geometry.pre, dtype=np.int64)
        cached = gid_index(geometry.post, pre_gids)
        cached.setflags(write=False)
        _memo_put(geometry, "own_posts", cached)
    return cached


def _shared_posts(geometry: Geometry) -> np.ndarray:
    """Sorted post indices whose neuron is also on the pre side."""
    cached = _memo_get(geometry, "shared_posts")
    if cached is None:
        own_pre = geometry.self_pre(np.arange(geometry.n_post, dtype=np.int64))
        cached = np.flatnonzero(own_pre >= 0).astype(np.int64)
        cached.setflags(write=False)
        _memo_put(geometry, "shared_posts", cached)
    return cached


def _n_blocks(n_post: int) -> int:
    return -(-int(n_post) // SYNAPSE_BLOCK)


def _halves(a: int, b: int, n_post: int):
    """Split of tree node ``[a, b)`` (in blocks): the middle block and the
    post ranges of both halves."""
    mid = (a + b) // 2
    return mid, a * SYNAPSE_BLOCK, mid * SYNAPSE_BLOCK, min(b * SYNAPSE_BLOCK, n_post)


# -- FixedNumberPost --------------------------------------------------------------

@dataclass(frozen=True, init=False)
class FixedNumberPost(Connector):
    """Each pre index picks ``n`` post indices uniformly (PyNN's
    ``FixedNumberPostConnector``).

    Parameters
    ----------
    n : int
        targets per source.
    with_replacement : bool
        if True, each pick is uniform over all allowed targets (repeated
        pairs possible); if False, a source's ``n`` targets are distinct
        (an error if it has fewer than ``n`` allowed targets: PyNN would
        instead connect to every target several times).
    allow_self_connections : bool
        if False, a neuron on both sides never picks itself.
    """
    n: int = 0
    with_replacement: bool = False

    def __init__(self, n: int, with_replacement: bool = False,
                 allow_self_connections: bool = True):
        if isinstance(n, (bool, np.bool_)) or int(n) != n or n < 0:
            raise ValueError(f"FixedNumberPost n must be a non-negative integer, got {n!r}")
        object.__setattr__(self, "n", int(n))
        object.__setattr__(self, "with_replacement", bool(with_replacement))
        object.__setattr__(self, "allow_self_connections", bool(allow_self_connections))

    def _check(self, geometry: Geometry, own: np.ndarray | None) -> None:
        n, n_post = self.n, geometry.n_post
        need = 1 if self.with_replacement else n
        if n_post >= need + 1 or (own is None and n_post >= need):
            return
        pool = np.full(geometry.n_pre, n_post, dtype=np.int64)
        if own is not None:
            pool -= own >= 0
        short = np.flatnonzero(pool < need)
        if short.size:
            i = int(short[0])
            what = "a target" if self.with_replacement else f"{n} distinct targets"
            raise geometry.error(
                f"FixedNumberPostConnector(n={n}) needs {what} for pre index {i}, but its pool "
                f"has only {int(pool[i])} (post size {n_post}"
                f"{', less the neuron itself' if pool[i] < n_post else ''}); use a smaller n"
                f"{'' if self.with_replacement else ' or with_replacement=True'}")

    def generate(self, geometry: Geometry, lo: int, hi: int, streams: Streams) -> Block:
        if self.n == 0 or geometry.n_pre == 0 or hi <= lo:
            return empty_block()
        own = _own_posts(geometry) if self.excludes_self(geometry) else None
        self._check(geometry, own)
        block = lo // SYNAPSE_BLOCK
        active, counts = self._counts(geometry, block, streams, own)
        if active.size == 0:
            return empty_block()
        return self._leaf(active, counts, lo, hi, own, streams.child(_LEAF).generator(block))

    def _counts(self, geometry: Geometry, block: int, streams: Streams, own):
        """Sources with targets in ``block`` and how many, from the tree path."""
        n_pre, n_post = geometry.n_pre, geometry.n_post
        memo_key = ("fixed_number_post_path", self, streams.key)
        path = _memo_get(geometry, memo_key) or ()
        # reuse the cached levels whose node still holds this block
        depth = 0
        while depth < len(path) and path[depth][0] <= block < path[depth][1]:
            depth += 1
        if depth:
            a, b, node, active, counts = path[depth - 1]
        else:
            a, b, node = 0, _n_blocks(n_post), 1
            active = np.arange(n_pre, dtype=np.int64)
            counts = np.full(n_pre, self.n, dtype=np.int64)
        levels = list(path[:depth])
        tree = streams.child(_TREE)
        while b - a > 1 and active.size:
            mid, start, split, end = _halves(a, b, n_post)
            good, bad = split - start, end - split
            if own is not None:
                mine = own[active]
                good = good - ((mine >= start) & (mine < split))
                bad = bad - ((mine >= split) & (mine < end))
            rng = tree.generator(node)
            if self.with_replacement:
                left = rng.binomial(counts, good / np.maximum(good + bad, 1))
            else:
                left = rng.hypergeometric(good, bad, counts)
            if block < mid:
                counts, b, node = left, mid, 2 * node
            else:
                counts, a, node = counts - left, mid, 2 * node + 1
            keep = counts > 0
            active, counts = active[keep], counts[keep]
            active.setflags(write=False)     # shared through the memo
            counts.setflags(write=False)
            levels.append((a, b, node, active, counts))
        _memo_put(geometry, memo_key, tuple(levels))
        return active, counts

    def _leaf(self, active, counts, lo, hi, own, rng) -> Block:
        """The chosen posts in ``[lo, hi)`` of each active source."""
        width = hi - lo
        k = active.size
        if own is not None:
            mine = own[active] - lo
            skip = np.where((mine >= 0) & (mine < width), mine, -1)
        else:
            skip = np.full(k, -1, dtype=np.int64)
        pool = width - (skip >= 0)
        if self.with_replacement:
            row = np.repeat(np.arange(k), counts)
            offset = rng.integers(0, pool[row])
            offset += (skip[row] >= 0) & (offset >= skip[row])   # step over the neuron itself
        else:
            single = counts == 1
            # one target: a plain uniform draw; several: the first `count`
            # of a random order of the block (the neuron itself last)
            first = rng.integers(0, pool[single])
            first += (skip[single] >= 0) & (first >= skip[single])
            several = np.flatnonzero(~single)
            keys = rng.random((several.size, width))
            has_self = skip[several] >= 0
            keys[np.flatnonzero(has_self), skip[several][has_self]] = 2.0
            order = np.argsort(keys, axis=1)
            chosen = order[np.arange(width)[None, :] < counts[several][:, None]]
            row = np.concatenate([np.flatnonzero(single), np.repeat(several, counts[several])])
            offset = np.concatenate([first, chosen])
        pre = active[row].astype(np.int64, copy=False)
        post = offset.astype(np.int64, copy=False) + lo
        order = np.lexsort((pre, post))
        return Block(pre[order], post[order])

    def expected_synapses(self, geometry: Geometry) -> float:
        return float(self.n) * geometry.n_pre

    def footprint(self, geometry: Geometry, lo: int, hi: int):
        return np.array([[0, geometry.n_pre]], dtype=np.int64)


# -- FixedTotalNumber -------------------------------------------------------------

@dataclass(frozen=True, init=False)
class FixedTotalNumber(Connector):
    """Exactly ``n`` synapses drawn uniformly over all allowed (pre, post)
    pairs (PyNN's ``FixedTotalNumberConnector``).

    Parameters
    ----------
    n : int
        the number of synapses of the whole projection.
    with_replacement : bool
        if True (PyNN's default), each synapse is a uniform pair
        (repeated pairs possible); if False, the ``n`` pairs are distinct.
    allow_self_connections : bool
        if False, pairs of a neuron with itself are not in the pool (PyNN's
        own implementation ignores this flag).
    """
    n: int = 0
    with_replacement: bool = True

    def __init__(self, n: int, with_replacement: bool = True,
                 allow_self_connections: bool = True):
        if isinstance(n, (bool, np.bool_)) or int(n) != n or n < 0:
            raise ValueError(f"FixedTotalNumber n must be a non-negative integer, got {n!r}")
        object.__setattr__(self, "n", int(n))
        object.__setattr__(self, "with_replacement", bool(with_replacement))
        object.__setattr__(self, "allow_self_connections", bool(allow_self_connections))

    def _pairs(self, geometry: Geometry, start: int, end: int, shared) -> int:
        """Allowed pairs ending on posts ``[start, end)``."""
        pairs = (end - start) * geometry.n_pre
        if shared is not None:
            pairs -= int(np.searchsorted(shared, end) - np.searchsorted(shared, start))
        return pairs

    def generate(self, geometry: Geometry, lo: int, hi: int, streams: Streams) -> Block:
        n_post = geometry.n_post
        if self.n == 0 or hi <= lo:
            return empty_block()
        shared = _shared_posts(geometry) if self.excludes_self(geometry) else None
        total = self._pairs(geometry, 0, n_post, shared)
        if total == 0 or (not self.with_replacement and self.n > total):
            raise geometry.error(
                f"FixedTotalNumberConnector(n={self.n}, with_replacement="
                f"{self.with_replacement}) needs {'distinct ' if not self.with_replacement else ''}"
                f"(pre, post) pairs, but only {total} are available ({geometry.n_pre} x "
                f"{n_post}{' less self-connections' if shared is not None else ''}); "
                "use a smaller n" + ("" if self.with_replacement else " or with_replacement=True"))
        block = lo // SYNAPSE_BLOCK
        # the block's share of n, down the tree
        count, a, b, node = self.n, 0, _n_blocks(n_post), 1
        tree = streams.child(_TREE)
        while b - a > 1 and count:
            mid, start, split, end = _halves(a, b, n_post)
            good = self._pairs(geometry, start, split, shared)
            bad = self._pairs(geometry, split, end, shared)
            rng = tree.generator(node)
            if self.with_replacement:
                left = int(rng.binomial(count, good / (good + bad)))
            else:
                left = hypergeometric(rng, good, bad, count)
            if block < mid:
                count, b, node = left, mid, 2 * node
            else:
                count, a, node = count - left, mid, 2 * node + 1
        if count == 0:
            return empty_block()
        # the block's pairs, numbered post by post (pre order within a post,
        # the neuron itself left out): sorted numbers are sorted (post, pre)
        posts = np.arange(lo, hi, dtype=np.int64)
        own = (geometry.self_pre(posts) if shared is not None
               else np.full(posts.size, -1, dtype=np.int64))
        per_post = geometry.n_pre - (own >= 0)
        ends = np.cumsum(per_post)
        rng = streams.child(_LEAF).generator(block)
        if self.with_replacement:
            numbers = np.sort(rng.integers(0, int(ends[-1]), count))
        else:
            numbers = distinct_sorted(rng, int(ends[-1]), count)
        column = np.searchsorted(ends, numbers, side="right")
        pre = numbers - (ends[column] - per_post[column])
        pre += (own[column] >= 0) & (pre >= own[column])
        return Block(pre.astype(np.int64, copy=False), posts[column])

    def expected_synapses(self, geometry: Geometry) -> float:
        return float(self.n)

    def footprint(self, geometry: Geometry, lo: int, hi: int):
        return np.array([[0, geometry.n_pre]], dtype=np.int64)
