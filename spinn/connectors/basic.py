"""Connectors without randomness: all-to-all, one-to-one, lists and arrays."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..values import frozen_array
from .base import Block, Connector, Geometry, Streams, empty_block

__all__ = ["AllToAll", "OneToOne", "FromList", "Array", "intervals"]


def intervals(indices: np.ndarray) -> np.ndarray:
    """Runs of consecutive values of sorted unique ``indices`` as half-open
    intervals (k, 2).

    >>> intervals(np.array([0, 1, 2, 5, 7, 8])).tolist()
    [[0, 3], [5, 6], [7, 9]]
    """
    indices = np.asarray(indices, dtype=np.int64)
    if indices.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    breaks = np.flatnonzero(np.diff(indices) != 1)
    starts = np.r_[indices[0], indices[breaks + 1]]
    ends = np.r_[indices[breaks], indices[-1]] + 1
    return np.stack([starts, ends], axis=1)


@dataclass(frozen=True)
class AllToAll(Connector):
    """Every pre index to every post index (PyNN's ``AllToAllConnector``)."""

    def generate(self, geometry: Geometry, lo: int, hi: int, streams: Streams) -> Block:
        n_pre = geometry.n_pre
        post = np.repeat(np.arange(lo, hi, dtype=np.int64), n_pre)
        pre = np.tile(np.arange(n_pre, dtype=np.int64), hi - lo)
        return self.drop_self(geometry, Block(pre, post))

    def expected_synapses(self, geometry: Geometry) -> float:
        total = float(geometry.n_pre) * geometry.n_post
        if self.excludes_self(geometry):
            total -= geometry.n_shared
        return total

    def footprint(self, geometry: Geometry, lo: int, hi: int):
        return np.array([[0, geometry.n_pre]], dtype=np.int64)


@dataclass(frozen=True)
class OneToOne(Connector):
    """Pre index ``i`` to post index ``i`` (PyNN's ``OneToOneConnector``; sides
    of the same size)."""

    def generate(self, geometry: Geometry, lo: int, hi: int, streams: Streams) -> Block:
        index = np.arange(lo, hi, dtype=np.int64)
        return Block(index, index.copy())

    def expected_synapses(self, geometry: Geometry) -> float:
        return float(min(geometry.n_pre, geometry.n_post))

    def footprint(self, geometry: Geometry, lo: int, hi: int):
        return np.array([[lo, hi]], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class FromList(Connector):
    """An explicit list of connections (PyNN's ``FromListConnector``, ``FromFileConnector``).

    Build it with :meth:`make`, which sorts the list by ``(post, pre)``
    (keeping the given order of repeated pairs); ``columns`` holds the extra
    columns (weight, delay, ...) in the same order.
    """
    pre: np.ndarray = None
    post: np.ndarray = None
    columns: tuple = ()

    @classmethod
    def make(cls, pre, post, columns: dict | None = None,
             allow_self_connections: bool = True) -> "FromList":
        pre = np.asarray(pre, dtype=np.int64).ravel()
        post = np.asarray(post, dtype=np.int64).ravel()
        order = np.lexsort((pre, post))
        cols = tuple((name, frozen_array(np.asarray(values, dtype=np.float64).ravel()[order]))
                     for name, values in (columns or {}).items())
        return cls(allow_self_connections=allow_self_connections,
                   pre=frozen_array(pre[order]), post=frozen_array(post[order]), columns=cols)

    def column(self, name: str) -> np.ndarray:
        for key, values in self.columns:
            if key == name:
                return values
        raise KeyError(name)

    def _range(self, lo: int, hi: int):
        return (int(np.searchsorted(self.post, lo, "left")),
                int(np.searchsorted(self.post, hi, "left")))

    def generate(self, geometry: Geometry, lo: int, hi: int, streams: Streams) -> Block:
        a, b = self._range(lo, hi)
        if a == b:
            return empty_block()
        return self.drop_self(geometry, Block(np.array(self.pre[a:b]), np.array(self.post[a:b]),
                                              np.arange(a, b, dtype=np.int64)))

    def expected_synapses(self, geometry: Geometry) -> float:
        return float(self.pre.size)

    def footprint(self, geometry: Geometry, lo: int, hi: int):
        a, b = self._range(lo, hi)
        return intervals(np.unique(self.pre[a:b]))


@dataclass(frozen=True, eq=False)
class Array(Connector):
    """A boolean ``(n_pre, n_post)`` connection matrix (PyNN's ``ArrayConnector``)."""
    matrix: np.ndarray = None

    @classmethod
    def make(cls, matrix) -> "Array":
        return cls(matrix=frozen_array(np.asarray(matrix, dtype=bool)))

    def generate(self, geometry: Geometry, lo: int, hi: int, streams: Streams) -> Block:
        post_offset, pre = np.nonzero(self.matrix[:, lo:hi].T)
        return self.drop_self(geometry, Block(pre.astype(np.int64),
                                              post_offset.astype(np.int64) + lo))

    def expected_synapses(self, geometry: Geometry) -> float:
        return float(np.count_nonzero(self.matrix))

    def footprint(self, geometry: Geometry, lo: int, hi: int):
        return intervals(np.flatnonzero(self.matrix[:, lo:hi].any(axis=1)))
