"""Values in the frozen network description, and how a rank evaluates them.

A per-neuron value (a parameter, an initial value, a rate) is one of

* a number: the same for every neuron;
* a read-only float64 array of the population's size;
* a :class:`RandomValue`: a distribution and a stream key. Neuron ``i``'s
  value is drawn from the keyed stream at block ``i // NEURON_BLOCK`` (a
  block is always drawn whole), so any rank can evaluate any slice and gets
  the values every other slicing gets, whether or not the user seeded the
  distribution.

A synaptic value (weight, delay) is a number, an ``(n_pre, n_post)`` array, a
:class:`RandomValue` (drawn per post block of the projection, see
:mod:`spinn.connectors`), a :class:`Listed` column of a connection list, or a
distance expression (:class:`DistanceExpression`).

Spike times are :class:`SpikeTimes` (flat times plus row pointers) and
recording requests :class:`RecordSpec`. Everything here is immutable: arrays
are read-only copies, and nothing holds a callable except the pure
expressions a user wrote (distance expressions).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rng import DISTRIBUTIONS, draw, keyed_generator

__all__ = ["NEURON_BLOCK", "RandomValue", "SpikeTimes", "RecordSpec", "Listed",
           "frozen_array", "sorted_unique", "take", "evaluate", "is_homogeneous"]

#: Neurons per block of a random per-neuron value. Part of the model's
#: definition: changing it changes every random parameter and initial value.
NEURON_BLOCK = 1024


def frozen_array(values, dtype=None) -> np.ndarray:
    """A read-only copy of ``values`` (or ``values`` itself if it already is one)."""
    if (isinstance(values, np.ndarray) and not values.flags.writeable
            and (dtype is None or values.dtype == np.dtype(dtype))):
        return values
    array = np.array(values, dtype=dtype, copy=True)
    array.setflags(write=False)
    return array


def sorted_unique(values) -> np.ndarray:
    """``np.unique`` of an int array, in O(n) when it is sorted already.

    numpy 2's ``np.unique`` hashes before it sorts: about 0.2 s for
    200,000 indices, already sorted or not, where a check and a sort take
    milliseconds (recording every cell of a 10^7-neuron population).
    """
    a = np.asarray(values)
    if a.ndim != 1:
        a = a.ravel()
    if a.size > 1 and not np.all(a[1:] > a[:-1]):
        a = np.sort(a)
        keep = np.empty(a.size, dtype=bool)
        keep[0] = True
        np.not_equal(a[1:], a[:-1], out=keep[1:])
        a = a[keep]
    return a


@dataclass(frozen=True)
class RandomValue:
    """``distribution`` (PyNN's name) with ``parameters``, drawn from stream ``key``.

    >>> v = RandomValue("uniform", (("low", 0.0), ("high", 1.0)), key=5)
    >>> bool(np.array_equal(take(v, np.array([3, 1500])), take(v, np.array([3, 1500]))))
    True
    """
    distribution: str
    parameters: tuple
    key: int

    def __post_init__(self):
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"random distribution {self.distribution!r} is not supported; "
                             f"choose one of {sorted(DISTRIBUTIONS)}")
        object.__setattr__(self, "parameters",
                           tuple((str(k), float(v)) for k, v in self.parameters))
        object.__setattr__(self, "key", int(self.key) & 0xFFFFFFFFFFFFFFFF)
        draw(np.random.default_rng(0), self.distribution, self.params, 1)   # checks the parameters

    @property
    def params(self) -> dict:
        return dict(self.parameters)

    def draw_block(self, block: int, n: int) -> np.ndarray:
        """The first ``n`` values of block ``block`` of this value's stream."""
        return draw(keyed_generator(self.key, block), self.distribution, self.params, n)

    def mean(self) -> float:
        """The mean of this value's first 4,096 draws (an estimate for mapping
        decisions; the same on every process)."""
        return float(np.mean(self.draw_block(0, 4096)))

    def describe(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.parameters)
        return f"RandomDistribution('{self.distribution}', {args})"


def is_homogeneous(value) -> bool:
    """A plain number (the same for every neuron or synapse)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def take(value, index: np.ndarray) -> np.ndarray:
    """Values of the neurons ``index`` (int64, any order) as a float64 array."""
    index = np.asarray(index, dtype=np.int64)
    if is_homogeneous(value):
        return np.full(index.shape, float(value))
    if isinstance(value, RandomValue):
        out = np.empty(index.shape, dtype=np.float64)
        if index.size == 0:
            return out
        block = index // NEURON_BLOCK
        # sorted unique blocks; a block is drawn whole, once
        order = np.argsort(block, kind="stable")
        sorted_blocks = block[order]
        starts = np.flatnonzero(np.r_[True, sorted_blocks[1:] != sorted_blocks[:-1]])
        ends = np.r_[starts[1:], index.size]
        for a, b in zip(starts.tolist(), ends.tolist()):
            b_id = int(sorted_blocks[a])
            values = value.draw_block(b_id, NEURON_BLOCK)
            which = order[a:b]
            out[which] = values[index[which] - b_id * NEURON_BLOCK]
        return out
    if isinstance(value, np.ndarray):
        return np.asarray(value[index], dtype=np.float64)
    raise TypeError(f"not a per-neuron value: {type(value).__name__}")


def evaluate(value, lo: int, hi: int) -> np.ndarray:
    """Values of neurons ``[lo, hi)`` as a float64 array."""
    if is_homogeneous(value):
        return np.full(hi - lo, float(value))
    if isinstance(value, np.ndarray):
        return np.array(value[lo:hi], dtype=np.float64)
    return take(value, np.arange(lo, hi, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class SpikeTimes:
    """Spike times (ms) of a population of spike-array sources.

    ``times[ptr[i]:ptr[i + 1]]`` are neuron ``i``'s, sorted; with ``ptr``
    None every neuron has all of ``times``.

    >>> st = SpikeTimes.from_lists([[1.0, 2.0], [], [0.5]])
    >>> t, p = st.select(1, 3)
    >>> t.tolist(), p.tolist()
    ([0.5], [0, 0, 1])
    """
    times: np.ndarray
    ptr: np.ndarray | None = None

    def __post_init__(self):
        object.__setattr__(self, "times", frozen_array(self.times, np.float64))
        if self.ptr is not None:
            object.__setattr__(self, "ptr", frozen_array(self.ptr, np.int64))

    @classmethod
    def from_lists(cls, lists) -> "SpikeTimes":
        arrays = [np.asarray(t, dtype=np.float64).ravel() for t in lists]
        ptr = np.zeros(len(arrays) + 1, dtype=np.int64)
        np.cumsum([a.size for a in arrays], out=ptr[1:])
        times = np.concatenate(arrays) if arrays else np.zeros(0)
        return cls(times, ptr)

    def select(self, lo: int, hi: int):
        """``(times, ptr)`` of neurons ``[lo, hi)``, ``ptr`` starting at 0."""
        if self.ptr is None:
            n = self.times.size
            return (np.tile(self.times, hi - lo),
                    np.arange(hi - lo + 1, dtype=np.int64) * n)
        a, b = int(self.ptr[lo]), int(self.ptr[hi])
        return np.array(self.times[a:b]), self.ptr[lo:hi + 1] - a

    def take(self, indices: np.ndarray):
        """``(times, ptr)`` of the neurons ``indices`` (any order), ``ptr`` from 0."""
        indices = np.asarray(indices, dtype=np.int64)
        if self.ptr is None:
            return self.select(0, indices.size)
        from .csr import ranges
        lengths = self.ptr[indices + 1] - self.ptr[indices]
        ptr = np.zeros(indices.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        return np.array(self.times[ranges(self.ptr[indices], lengths)]), ptr

    def of(self, i: int) -> np.ndarray:
        """Neuron ``i``'s spike times."""
        if self.ptr is None:
            return np.array(self.times)
        return np.array(self.times[self.ptr[i]:self.ptr[i + 1]])


@dataclass(frozen=True, eq=False)
class RecordSpec:
    """What a population records of one variable: its neurons as sorted,
    disjoint, non-adjacent ``[start, stop)`` index ``runs`` (shape ``(k, 2)``),
    sampled every ``interval`` steps (signals only).

    A whole population is one run and a slice view one run, so recording all
    of a 10^8-neuron population stores two numbers; ``k`` scattered cells
    store at most ``k`` runs (:meth:`of_indices`, or the runs themselves,
    e.g. :func:`runs_span`); ranks ask it only about their own index ranges
    (:meth:`between`, :meth:`count_between`, :meth:`contains`).
    """
    runs: np.ndarray
    interval: int = 1

    def __post_init__(self):
        runs = np.asarray(self.runs, dtype=np.int64)
        if runs.size == 0:
            runs = no_runs()
        if runs.ndim != 2 or runs.shape[1] != 2:
            raise ValueError(f"RecordSpec: runs must be [start, stop) pairs, not shape "
                             f"{runs.shape}")
        if runs.size and (np.any(runs[:, 0] < 0) or np.any(runs[:, 1] <= runs[:, 0])
                          or np.any(runs[1:, 0] <= runs[:-1, 1])):
            if np.any(runs[:, 0] < 0) or np.any(runs[:, 1] < runs[:, 0]):
                raise ValueError(f"RecordSpec: runs {runs.tolist()[:5]} must be "
                                 f"non-negative [start, stop) pairs")
            runs = _merged_runs(runs)
        object.__setattr__(self, "runs", frozen_array(runs, np.int64))
        if int(self.interval) < 1:
            raise ValueError(f"RecordSpec: interval {self.interval} must be at least 1 step")
        object.__setattr__(self, "interval", int(self.interval))

    @classmethod
    def of_indices(cls, indices, interval: int = 1) -> "RecordSpec":
        """The cells ``indices`` (any order, repeats allowed): O(k) for k indices."""
        return cls(runs_of(indices), interval)

    @property
    def count(self) -> int:
        """How many cells are recorded."""
        return runs_count(self.runs)

    @property
    def indices(self) -> np.ndarray:
        """Every recorded index, sorted (one int64 per cell: for a rank's own
        cells use :meth:`between`)."""
        return self.between(0, int(self.runs[-1, 1]) if self.runs.size else 0)

    def count_between(self, lo, hi) -> np.ndarray:
        """Recorded cells in each ``[lo[i], hi[i])`` (arrays): O(runs + len(lo))."""
        lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
        before = np.r_[0, np.cumsum(self.runs[:, 1] - self.runs[:, 0])]
        return self._rank(hi, before) - self._rank(lo, before)

    def _rank(self, x: np.ndarray, before: np.ndarray) -> np.ndarray:
        """Recorded cells with index below each ``x``."""
        if self.runs.size == 0:
            return np.zeros(np.shape(x), dtype=np.int64)
        j = np.searchsorted(self.runs[:, 0], x, side="right") - 1     # run starting <= x
        jj = np.maximum(j, 0)
        inside = np.minimum(x, self.runs[jj, 1]) - self.runs[jj, 0]
        return np.where(j >= 0, before[jj] + inside, 0)

    def between(self, lo: int, hi: int) -> np.ndarray:
        """The recorded indices in ``[lo, hi)``, sorted: O(runs there + cells there)."""
        return runs_expand(self.runs, lo, hi)

    def contains(self, indices) -> np.ndarray:
        """Whether each of ``indices`` is recorded (a bool array)."""
        return runs_contain(self.runs, indices)


# -- index runs: sorted, disjoint, non-adjacent [start, stop) pairs, shape (k, 2) ----------

def no_runs() -> np.ndarray:
    return np.zeros((0, 2), dtype=np.int64)


def runs_span(lo: int, hi: int) -> np.ndarray:
    """The indices ``lo .. hi - 1``: one run (none if ``hi <= lo``)."""
    return np.array([[int(lo), int(hi)]], dtype=np.int64) if hi > lo else no_runs()


def runs_of(indices) -> np.ndarray:
    """The runs of the indices ``indices`` (any order, repeats allowed): O(k)."""
    idx = sorted_unique(np.asarray(indices, dtype=np.int64))
    if idx.size == 0:
        return no_runs()
    cuts = np.flatnonzero(np.diff(idx) != 1) + 1
    return np.stack([idx[np.r_[0, cuts]], idx[np.r_[cuts - 1, idx.size - 1]] + 1], axis=1)


def runs_count(runs: np.ndarray) -> int:
    return int((runs[:, 1] - runs[:, 0]).sum())


def runs_expand(runs: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The indices of ``runs`` in ``[lo, hi)``, sorted: O(runs there + indices there)."""
    a = int(np.searchsorted(runs[:, 1], lo, side="right"))
    b = int(np.searchsorted(runs[:, 0], hi, side="left"))
    if a >= b:
        return np.zeros(0, dtype=np.int64)
    starts = np.maximum(runs[a:b, 0], lo)
    stops = np.minimum(runs[a:b, 1], hi)
    lengths = stops - starts
    offsets = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) + offsets


def runs_contain(runs: np.ndarray, indices) -> np.ndarray:
    """Whether each of ``indices`` is in ``runs`` (a bool array)."""
    idx = np.asarray(indices, dtype=np.int64)
    if runs.size == 0:
        return np.zeros(idx.shape, dtype=bool)
    j = np.searchsorted(runs[:, 0], idx, side="right") - 1
    return (j >= 0) & (idx < runs[np.maximum(j, 0), 1])


def runs_union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _merged_runs(np.concatenate([a, b])) if a.size and b.size else (a if a.size else b)


def runs_intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The indices in both: O((runs of a + runs of b) log)."""
    if a.size == 0 or b.size == 0:
        return no_runs()
    first = np.searchsorted(b[:, 1], a[:, 0], side="right")    # b runs ending after a's start
    last = np.searchsorted(b[:, 0], a[:, 1], side="left")      # ... and starting before its stop
    counts = np.maximum(last - first, 0)
    if counts.sum() == 0:
        return no_runs()
    ai = np.repeat(np.arange(a.shape[0]), counts)
    bi = np.arange(int(counts.sum())) + np.repeat(first - np.r_[0, np.cumsum(counts)[:-1]],
                                                   counts)
    out = np.stack([np.maximum(a[ai, 0], b[bi, 0]), np.minimum(a[ai, 1], b[bi, 1])], axis=1)
    return _merged_runs(out[out[:, 1] > out[:, 0]])


def runs_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The indices of ``a`` not in ``b``."""
    if a.size == 0 or b.size == 0:
        return a
    gaps = np.stack([np.r_[min(int(a[0, 0]), int(b[0, 0])), b[:, 1]],
                     np.r_[b[:, 0], max(int(a[-1, 1]), int(b[-1, 1]))]], axis=1)
    return runs_intersection(a, gaps[gaps[:, 1] > gaps[:, 0]])


def _merged_runs(runs: np.ndarray) -> np.ndarray:
    """Sorted, disjoint, non-adjacent runs covering the same indices."""
    runs = runs[runs[:, 1] > runs[:, 0]]
    if runs.size == 0:
        return no_runs()
    runs = runs[np.argsort(runs[:, 0], kind="stable")]
    reach = np.maximum.accumulate(runs[:, 1])
    new = np.r_[True, runs[1:, 0] > reach[:-1]]
    starts = runs[new, 0]
    ends = np.r_[reach[np.flatnonzero(new)[1:] - 1], reach[-1]]
    return np.stack([starts, ends], axis=1)


@dataclass(frozen=True)
class Listed:
    """A synaptic value taken from a column of the connector's connection list."""
    column: str
