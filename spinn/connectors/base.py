"""The connector protocol, and what every connector shares.

A connector is a frozen description (numbers and arrays, no state) with

``generate(geometry, lo, hi, streams) -> Block``
    every synapse that ends on the post indices ``[lo, hi)`` of one
    generation block (``lo = b * SYNAPSE_BLOCK``), as pre and post indices
    sorted by ``(post, pre)`` (multapses in generation order). A pure
    function of the connector, the projection's geometry, the block and the
    projection's keyed streams: the rank that owns a target generates its
    block alone, in any order, and gets the synapses every other rank count
    would get. Cost in proportion to the synapses made.
``expected_synapses(geometry) -> float``
    the expected (or exact) number of synapses of the whole projection, for
    the partitioner's memory and load estimates, computed without
    generating anything.
``footprint(geometry, lo, hi) -> int64[k, 2] | None``
    half-open intervals of pre indices that can reach the posts ``[lo, hi)``
    (None: any pre index can), without generating anything: the part of the
    network a target can hear from (:mod:`spinn.estimates` uses it to predict
    routing; generated synapses always lie inside it).

Nothing dispatches on connector names: a new connector is a new class.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from ..errors import NetworkError
from ..network import GidRange, gid_index
from ..rng import keyed_generator, stream_key

__all__ = ["SYNAPSE_BLOCK", "Block", "Geometry", "Streams", "Connector", "empty_block",
           "blocks_of", "block_range"]

#: Post indices per generation block. Part of the model's definition:
#: changing it changes every random network.
SYNAPSE_BLOCK = 64

#: stream kind of connectivity draws (weights and delays have their own keys)
_CONNECTIVITY = 0xC0

_EMPTY = np.zeros(0, dtype=np.int64)
_EMPTY.setflags(write=False)


class Block(NamedTuple):
    """Synapses of one generation block, sorted by ``(post, pre)``.

    ``entry`` is, for connectors that list their synapses (FromList), the
    row of each synapse in the connector's list, which listed weights and
    delays are read from; None otherwise.
    """
    pre: np.ndarray
    post: np.ndarray
    entry: np.ndarray | None = None

    def __len__(self):
        return int(self.pre.size)


def empty_block() -> Block:
    return Block(_EMPTY, _EMPTY)


def block_range(b: int, n_post: int) -> tuple[int, int]:
    """Post indices ``[lo, hi)`` of block ``b``."""
    lo = int(b) * SYNAPSE_BLOCK
    return lo, min(lo + SYNAPSE_BLOCK, int(n_post))


def blocks_of(post_indices: np.ndarray) -> np.ndarray:
    """Sorted unique generation blocks holding these post indices."""
    return np.unique(np.asarray(post_indices, dtype=np.int64) // SYNAPSE_BLOCK)


class Geometry:
    """One projection as its connector sees it.

    ``pre``/``post`` map the projection's pre and post indices to global
    neuron ids (a :class:`~spinn.network.GidRange` or an int64 array);
    ``positions(side, indices)`` gives cell positions (3, k) and ``space``
    measures distances, for spatial connectors (None when the network has
    no positions).
    """

    def __init__(self, label: str, pre, post, *, positions=None, space=None):
        self.label = label
        self.pre, self.post = pre, post
        self.n_pre, self.n_post = len(pre), len(post)
        self._positions = positions
        self.space = space

    def error(self, message: str) -> NetworkError:
        return NetworkError(f"Projection '{self.label}': {message}")

    @cached_property
    def overlap(self) -> bool:
        """Whether some neuron is on both sides (self-connections are possible)."""
        pre, post = self.pre, self.post
        if isinstance(pre, GidRange) and isinstance(post, GidRange):
            return max(pre.start, post.start) < min(pre.start + pre.size, post.start + post.size)
        return bool(np.intersect1d(np.asarray(pre), np.asarray(post)).size)

    @cached_property
    def n_shared(self) -> int:
        """Neurons on both sides (the self-connections an all-to-all would make)."""
        pre, post = self.pre, self.post
        if isinstance(pre, GidRange) and isinstance(post, GidRange):
            return max(0, min(pre.start + pre.size, post.start + post.size)
                       - max(pre.start, post.start))
        return int(np.intersect1d(np.asarray(pre), np.asarray(post)).size)

    def self_pre(self, post_indices: np.ndarray) -> np.ndarray:
        """For each post index, the pre index of the same neuron, or -1."""
        post_indices = np.asarray(post_indices, dtype=np.int64)
        if not self.overlap:
            return np.full(post_indices.shape, -1, dtype=np.int64)
        return gid_index(self.pre, np.asarray(self.post[post_indices], dtype=np.int64))

    def positions(self, side: str, indices: np.ndarray) -> np.ndarray:
        """Positions (3, k) of pre (``side="pre"``) or post cells ``indices``."""
        if self._positions is None:
            raise self.error("this connector needs cell positions, which are not available")
        return self._positions(side, np.asarray(indices, dtype=np.int64))

    def distances(self, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
        """Distance between pre ``pre[i]`` and post ``post[i]`` (broadcasting)."""
        if self.space is None:
            raise self.error("this connector needs a Space to measure distances")
        return self.space.distances(self.positions("pre", pre), self.positions("post", post))


class Streams:
    """The keyed random streams of one projection's connectivity.

    ``generator(block, sub)`` is block ``block`` (sub-stream ``sub``) of the
    projection's stream, keyed by ``(seed, projection id)``; ``child(*c)``
    a separate stream for more coordinates (tree nodes, passes).
    """

    def __init__(self, seed: int, projection_id: int, *coordinates: int):
        self.seed, self.projection_id = int(seed), int(projection_id)
        self.coordinates = coordinates
        self.key = int(stream_key(seed, projection_id, _CONNECTIVITY, *coordinates))

    def generator(self, block: int, sub: int = 0) -> np.random.Generator:
        return keyed_generator(self.key, block, sub)

    def child(self, *coordinates: int) -> "Streams":
        return Streams(self.seed, self.projection_id, *self.coordinates, *coordinates)


@dataclass(frozen=True)
class Connector:
    """Base of the connector descriptions (see the module docstring)."""
    allow_self_connections: bool = True
    #: the connector reads cell positions (``geometry.positions``/``distances``)
    needs_positions = False

    def generate(self, geometry: Geometry, lo: int, hi: int, streams: Streams) -> Block:
        raise NotImplementedError

    def expected_synapses(self, geometry: Geometry) -> float:
        raise NotImplementedError

    def footprint(self, geometry: Geometry, lo: int, hi: int):
        return None

    def excludes_self(self, geometry: Geometry) -> bool:
        """Self-connections must be left out, and some are possible."""
        return not self.allow_self_connections and geometry.overlap

    def drop_self(self, geometry: Geometry, block: Block) -> Block:
        """``block`` without its self-connections, if they are not allowed."""
        if not self.excludes_self(geometry) or len(block) == 0:
            return block
        keep = geometry.pre[block.pre] != geometry.post[block.post]
        if keep.all():
            return block
        return Block(block.pre[keep], block.post[keep],
                     None if block.entry is None else block.entry[keep])
