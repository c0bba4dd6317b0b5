"""Data passed between the partitioning stages.

Every type is a frozen dataclass of numpy arrays. Constructors coerce dtypes
(counts and ids to int64, keys and masks to uint32) and check shapes; they
store read-only *views* (no copy), so a stage cannot modify its input by
accident. The invariants that relate the arrays (coverage, ranges, routes) are
*not* checked here but by the ``check_*`` functions of
:mod:`partitioning.checks`, so a corrupted object can still be built and shown
to fail its checker.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .errors import PartitioningError, UnfeasibleError

__all__ = ["Graph", "Slices", "Placement", "KeySpace", "RoutingTable", "Mapping"]


def _as_array(value, dtype, name: str, *, ndim: int = 1) -> np.ndarray:
    """Return ``value`` as a read-only view of dtype ``dtype`` and rank ``ndim``.

    Floats that are not whole numbers are refused for integer dtypes rather
    than silently truncated.
    """
    array = np.asarray(value)
    if array.size == 0:
        array = array.reshape((0,) if ndim == 1 else (0, 2))
    if np.dtype(dtype).kind in "iu" and array.dtype.kind not in "iu" and array.size:
        whole = (array.dtype.kind == "f" and np.all(np.isfinite(array))
                 and np.all(array == np.round(array)))
        if not whole:
            raise UnfeasibleError(
                f"{name} must hold integers, got dtype {array.dtype} with non-integral "
                f"values: pass whole numbers"
            )
    if array.ndim != ndim:
        raise UnfeasibleError(f"{name} must be {ndim}-dimensional, got shape {array.shape}")
    view = array.astype(dtype, copy=False).view()
    view.setflags(write=False)
    return view


@dataclass(frozen=True, eq=False)
class Graph:
    """The network as vertices (populations) and edges (projections).

    Parameters
    ----------
    n_atoms : int64[V]
        Number of atoms (neurons) of each vertex; at least 1.
    max_atoms_per_core : int64[V]
        Largest slice (core) each vertex may be cut into, in atoms; at least 1.
    edges : int64[E, 2]
        ``(pre vertex, post vertex)`` of each edge. Duplicates and self-loops
        are allowed (two projections between the same populations, recurrent
        connections).
    labels : tuple of str, length V
        Names used in error messages and reports.
    edge_weight : float64[E] or None
        Expected traffic of each edge (arbitrary units, >= 0); ``None`` means
        1 for every edge.

    Raises
    ------
    UnfeasibleError
        A shape is wrong, a vertex has fewer than 1 atom or a
        ``max_atoms_per_core`` below 1, or an edge names a missing vertex.
    """

    n_atoms: np.ndarray
    max_atoms_per_core: np.ndarray
    edges: np.ndarray
    labels: tuple[str, ...]
    edge_weight: np.ndarray | None = None

    def __post_init__(self) -> None:
        def set_field(name, value):
            object.__setattr__(self, name, value)

        set_field("n_atoms", _as_array(self.n_atoms, np.int64, "Graph.n_atoms"))
        n_vertices = self.n_atoms.shape[0]
        set_field(
            "max_atoms_per_core",
            _as_array(self.max_atoms_per_core, np.int64, "Graph.max_atoms_per_core"),
        )
        set_field("edges", _as_array(self.edges, np.int64, "Graph.edges", ndim=2))
        set_field("labels", tuple(self.labels))
        if self.max_atoms_per_core.shape != (n_vertices,):
            raise UnfeasibleError(
                f"Graph.max_atoms_per_core has shape {self.max_atoms_per_core.shape} "
                f"but there are {n_vertices} vertices: give one value per vertex"
            )
        if len(self.labels) != n_vertices or not all(isinstance(x, str) for x in self.labels):
            raise UnfeasibleError(
                f"Graph.labels must be {n_vertices} strings (one per vertex), "
                f"got {len(self.labels)} items"
            )
        if self.edges.shape[1:] != (2,):
            raise UnfeasibleError(
                f"Graph.edges must have shape (E, 2) of (pre, post) vertices, "
                f"got {self.edges.shape}"
            )
        bad = np.flatnonzero(self.n_atoms < 1)
        if bad.size:
            v = int(bad[0])
            raise UnfeasibleError(
                f"vertex {v} ({self.labels[v]!r}) has {int(self.n_atoms[v])} atoms; "
                f"every vertex needs at least 1: give it neurons or leave it out of the graph"
            )
        bad = np.flatnonzero(self.max_atoms_per_core < 1)
        if bad.size:
            v = int(bad[0])
            raise UnfeasibleError(
                f"vertex {v} ({self.labels[v]!r}) has max_atoms_per_core="
                f"{int(self.max_atoms_per_core[v])}; it must be at least 1"
            )
        bad = np.flatnonzero(np.any((self.edges < 0) | (self.edges >= n_vertices), axis=1))
        if bad.size:
            e = int(bad[0])
            raise UnfeasibleError(
                f"edge {e} is {tuple(int(x) for x in self.edges[e])} (pre, post) but vertex "
                f"ids must be in [0, {n_vertices}): fix the projection's populations"
            )
        if self.edge_weight is not None:
            weight = _as_array(self.edge_weight, np.float64, "Graph.edge_weight")
            if weight.shape != (self.edges.shape[0],):
                raise UnfeasibleError(
                    f"Graph.edge_weight has shape {weight.shape} but there are "
                    f"{self.edges.shape[0]} edges: give one weight per edge or None"
                )
            bad = np.flatnonzero(~np.isfinite(weight) | (weight < 0))
            if bad.size:
                e = int(bad[0])
                raise UnfeasibleError(
                    f"edge {e} has weight {float(weight[e])}; weights are expected "
                    f"traffic and must be finite and >= 0"
                )
            set_field("edge_weight", weight)

    @property
    def n_vertices(self) -> int:
        """Number of vertices V."""
        return int(self.n_atoms.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of edges E (duplicates counted)."""
        return int(self.edges.shape[0])


@dataclass(frozen=True, eq=False)
class Slices:
    """Vertices cut into slices; a slice is one core.

    Slice ``s`` holds atoms ``[lo[s], hi[s])`` (half-open, numbered within
    vertex ``vertex[s]``). Slices are ordered by ``(vertex, lo)`` and the slice
    id (the index ``s``) is the core id.

    Parameters
    ----------
    vertex, lo, hi : int64[S]
    """

    vertex: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def __post_init__(self) -> None:
        for name in ("vertex", "lo", "hi"):
            value = _as_array(getattr(self, name), np.int64, f"Slices.{name}")
            object.__setattr__(self, name, value)
        if not (self.vertex.shape == self.lo.shape == self.hi.shape):
            raise UnfeasibleError(
                f"Slices arrays differ in shape: vertex {self.vertex.shape}, "
                f"lo {self.lo.shape}, hi {self.hi.shape}"
            )

    @property
    def n_slices(self) -> int:
        """Number of slices S."""
        return int(self.vertex.shape[0])

    def sizes(self) -> np.ndarray:
        """Atoms in each slice, ``hi - lo`` (int64[S])."""
        return self.hi - self.lo


@dataclass(frozen=True, eq=False)
class Placement:
    """Which rank (chip) hosts each slice.

    Parameters
    ----------
    rank : int64[S]
        Rank of slice ``s``, in ``[0, n_ranks)``.
    n_ranks : int
        Number of ranks; ranks may host no slice at all.
    """

    rank: np.ndarray
    n_ranks: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "rank", _as_array(self.rank, np.int64, "Placement.rank"))
        if isinstance(self.n_ranks, bool) or not isinstance(self.n_ranks, (int, np.integer)):
            raise UnfeasibleError(f"n_ranks must be an integer, got {self.n_ranks!r}")
        object.__setattr__(self, "n_ranks", int(self.n_ranks))

    def slices_on(self, rank: int) -> np.ndarray:
        """Ids of the slices placed on ``rank``, ascending (int64)."""
        return np.flatnonzero(self.rank == rank).astype(np.int64, copy=False)


@dataclass(frozen=True, eq=False)
class KeySpace:
    """The multicast key range of each slice.

    The key of atom ``i`` of slice ``s`` is ``base[s] | (i - lo[s])``; ``mask[s]``
    has ones on every bit that is not an offset bit, so
    ``(key & mask[s]) == base[s]`` for every key of slice ``s``.

    Parameters
    ----------
    base, mask : uint32[S]
    offset_bits : int
        Number of low bits holding the atom's offset within its slice.
    """

    base: np.ndarray
    mask: np.ndarray
    offset_bits: int

    def __post_init__(self) -> None:
        for name in ("base", "mask"):
            value = _as_array(getattr(self, name), np.uint32, f"KeySpace.{name}")
            object.__setattr__(self, name, value)
        if self.base.shape != self.mask.shape:
            raise UnfeasibleError(
                f"KeySpace.base {self.base.shape} and mask {self.mask.shape} differ in shape"
            )
        object.__setattr__(self, "offset_bits", int(self.offset_bits))

    def decode(self, keys) -> tuple[np.ndarray, np.ndarray]:
        """Split keys into ``(slice id, offset within slice)``, both int64.

        Exact for key spaces made by :func:`partitioning.allocate_keys`, where
        ``base[s] == s << offset_bits``.
        """
        keys = np.asarray(keys, dtype=np.uint32)
        offset = keys & np.uint32((1 << self.offset_bits) - 1)
        return (keys >> np.uint32(self.offset_bits)).astype(np.int64), offset.astype(np.int64)


@dataclass(frozen=True, eq=False)
class RoutingTable:
    """The router of one rank: key → destination ranks.

    Entry ``r`` matches keys ``k`` with ``(k & mask[r]) == key[r]`` and sends
    them to ranks ``dest_rank[dest_ptr[r]:dest_ptr[r + 1]]`` (ascending,
    unique). Entries are ordered: the first matching entry wins. A key that
    matches no entry goes nowhere.

    Parameters
    ----------
    rank : int
        The rank this table belongs to.
    key, mask : uint32[R]
    dest_ptr : int64[R + 1]
        CSR pointers into ``dest_rank``.
    dest_rank : int64[dest_ptr[-1]]
    """

    rank: int
    key: np.ndarray
    mask: np.ndarray
    dest_ptr: np.ndarray
    dest_rank: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "rank", int(self.rank))
        for name, dtype in (("key", np.uint32), ("mask", np.uint32),
                            ("dest_ptr", np.int64), ("dest_rank", np.int64)):
            value = _as_array(getattr(self, name), dtype, f"RoutingTable.{name}")
            object.__setattr__(self, name, value)
        n_entries = self.key.shape[0]
        if self.mask.shape != (n_entries,) or self.dest_ptr.shape != (n_entries + 1,):
            raise UnfeasibleError(
                f"routing table of rank {self.rank}: key {self.key.shape}, mask "
                f"{self.mask.shape} and dest_ptr {self.dest_ptr.shape} do not describe "
                f"{n_entries} entries (dest_ptr needs one more item than key)"
            )

    def __len__(self) -> int:
        return int(self.key.shape[0])

    @cached_property
    def _lookup(self) -> tuple[tuple[np.uint32, np.ndarray, np.ndarray], ...]:
        # One sorted (key, first entry) index per distinct mask: matching a key
        # is then one searchsorted per mask instead of a scan of the table.
        groups = []
        for mask in np.unique(self.mask):
            entry = np.flatnonzero(self.mask == mask)
            key = self.key[entry]
            order = np.lexsort((entry, key))
            key, entry = key[order], entry[order]
            first = np.ones(key.shape[0], dtype=bool)
            first[1:] = key[1:] != key[:-1]
            groups.append((mask, key[first], entry[first]))
        return tuple(groups)

    def match(self, keys) -> np.ndarray:
        """Index of the first entry matching each key, or -1 (int64, shape of ``keys``)."""
        keys = np.asarray(keys, dtype=np.uint32)
        n_entries = len(self)
        found = np.full(keys.shape, n_entries, dtype=np.int64)
        for mask, key, entry in self._lookup:
            masked = keys & mask
            at = np.minimum(np.searchsorted(key, masked), key.shape[0] - 1)
            np.minimum(found, np.where(key[at] == masked, entry[at], n_entries), out=found)
        found[found == n_entries] = -1
        return found

    def route(self, keys) -> tuple[np.ndarray, np.ndarray]:
        """Destination ranks of each key, as CSR.

        Returns
        -------
        ptr : int64[K + 1]
        ranks : int64[ptr[-1]]
            Key ``i`` goes to ``ranks[ptr[i]:ptr[i + 1]]`` (ascending; empty
            when it matches no entry).
        """
        entry = self.match(keys).ravel()
        ptr = np.zeros(entry.shape[0] + 1, dtype=np.int64)
        if len(self) == 0:
            return ptr, np.zeros(0, dtype=np.int64)
        safe = np.maximum(entry, 0)
        start = self.dest_ptr[safe]
        counts = np.where(entry >= 0, self.dest_ptr[safe + 1] - start, 0)
        np.cumsum(counts, out=ptr[1:])
        index = np.repeat(start - ptr[:-1], counts) + np.arange(ptr[-1], dtype=np.int64)
        return ptr, self.dest_rank[index]


def _hash_array(digest, name: str, array: np.ndarray) -> None:
    # Little-endian bytes and the dtype/shape in a header: the same arrays give
    # the same digest on every machine, and array boundaries are unambiguous.
    array = np.ascontiguousarray(array)
    array = array.astype(array.dtype.newbyteorder("<"), copy=False)
    digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
    digest.update(array.tobytes())


@dataclass(frozen=True, eq=False)
class Mapping:
    """The result of mapping: identical on every rank for the same input.

    Parameters
    ----------
    graph : Graph
    slices : Slices
    placement : Placement
    keys : KeySpace
    tables : tuple of RoutingTable
        ``tables[r]`` is the router of rank ``r``.
    """

    graph: Graph
    slices: Slices
    placement: Placement
    keys: KeySpace
    tables: tuple[RoutingTable, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", tuple(self.tables))
        if len(self.tables) != self.placement.n_ranks:
            raise PartitioningError(
                f"{len(self.tables)} routing tables for {self.placement.n_ranks} ranks"
            )

    @property
    def n_ranks(self) -> int:
        """Number of ranks."""
        return self.placement.n_ranks

    def digest(self) -> str:
        """SHA-256 (hex) of every array of the mapping and of ``n_ranks``.

        Compare it across ranks to prove they all hold the same mapping.
        """
        digest = hashlib.sha256()
        digest.update(f"n_ranks={self.n_ranks};".encode())
        digest.update(json.dumps(list(self.graph.labels)).encode())
        weight = self.graph.edge_weight
        for name, array in (
            ("n_atoms", self.graph.n_atoms),
            ("max_atoms_per_core", self.graph.max_atoms_per_core),
            ("edges", self.graph.edges),
            ("edge_weight", np.zeros(0) if weight is None else weight),
            ("vertex", self.slices.vertex),
            ("lo", self.slices.lo),
            ("hi", self.slices.hi),
            ("rank", self.placement.rank),
            ("base", self.keys.base),
            ("mask", self.keys.mask),
            ("offset_bits", np.array([self.keys.offset_bits], dtype=np.int64)),
        ):
            _hash_array(digest, name, array)
        for table in self.tables:
            digest.update(f"table {table.rank};".encode())
            for name in ("key", "mask", "dest_ptr", "dest_rank"):
                _hash_array(digest, name, getattr(table, name))
        return digest.hexdigest()

    def report(self) -> dict:
        """Summary for ``spinn map`` and logs (JSON-serialisable).

        Returns
        -------
        dict
            ``n_ranks``, ``n_slices``, ``n_atoms`` (total), ``atoms_per_rank``,
            ``slices_per_rank``, ``entries_per_rank`` (routing-table entries),
            ``destinations_per_rank`` (sum of table fan-out) as lists of ints
            indexed by rank, and ``imbalance`` = max / mean atoms per rank
            (1.0 is perfect).
        """
        n_ranks = self.n_ranks
        rank = self.placement.rank
        sizes = self.slices.sizes()
        atoms = np.bincount(rank, weights=sizes, minlength=n_ranks).astype(np.int64)
        slices = np.bincount(rank, minlength=n_ranks).astype(np.int64)
        n_atoms = int(sizes.sum())
        mean = n_atoms / n_ranks
        return {
            "n_ranks": n_ranks,
            "n_slices": self.slices.n_slices,
            "n_atoms": n_atoms,
            "atoms_per_rank": atoms.tolist(),
            "slices_per_rank": slices.tolist(),
            "entries_per_rank": [len(t) for t in self.tables],
            "destinations_per_rank": [int(t.dest_ptr[-1]) for t in self.tables],
            "imbalance": float(atoms.max() / mean) if n_atoms else 1.0,
        }
