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

__all__ = ["Graph", "Slices", "Placement", "KeySpace", "RoutingTable", "Mapping", "DEFAULT_RATE_HZ"]

#: Rate assumed for a vertex without an estimate, in Hz.
DEFAULT_RATE_HZ = 10.0


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
        Relative importance of each edge for placement (>= 0), multiplying
        the spikes per step its pre vertex sends over it; ``None`` means 1
        for every edge, 0 lets placement ignore it. Routing always carries
        every edge.
    synapses : float64[E] or None
        Expected number of synapses of each edge (an estimate, >= 0), for
        memory and load estimates; ``None``: unknown, counted as 0.
    rate_hz : float64[V] or None
        Expected mean firing rate of each vertex's atoms, in Hz; ``None``
        means :data:`DEFAULT_RATE_HZ` (10 Hz) for every vertex.
    bytes_per_atom : float64[V] or None
        Memory one atom needs besides its incoming synapses (state,
        parameters, ring buffer), in bytes; ``None``: 0.
    bytes_per_synapse : float
        Memory of one incoming synapse, in bytes (16: target, weight, delay,
        receptor).
    dt_ms : float
        Time step, in ms (turns rates into spikes per step).
    cost_per_atom : float64[V] or None
        Work of one atom per time step, in seconds (update, events received,
        sources generated with it): placement balances it. ``None``: every
        atom costs the same (placement balances atoms).

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
    synapses: np.ndarray | None = None
    rate_hz: np.ndarray | None = None
    bytes_per_atom: np.ndarray | None = None
    bytes_per_synapse: float = 16.0
    dt_ms: float = 0.1
    cost_per_atom: np.ndarray | None = None

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
        for name, per, size, what in (
            ("edge_weight", "edge", self.edges.shape[0], "weight"),
            ("synapses", "edge", self.edges.shape[0], "expected synapse count"),
            ("rate_hz", "vertex", n_vertices, "rate (Hz)"),
            ("bytes_per_atom", "vertex", n_vertices, "bytes per atom"),
            ("cost_per_atom", "vertex", n_vertices, "cost per atom (s)"),
        ):
            if getattr(self, name) is None:
                continue
            values = _as_array(getattr(self, name), np.float64, f"Graph.{name}")
            if values.shape != (size,):
                raise UnfeasibleError(
                    f"Graph.{name} has shape {values.shape} but there are {size} "
                    f"{per}s: give one value per {per} or None"
                )
            bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
            if bad.size:
                i = int(bad[0])
                which = (f"edge {i}" if per == "edge"
                         else f"vertex {i} ({self.labels[i]!r})")
                raise UnfeasibleError(
                    f"{which} has {what} {float(values[i])}; it must be finite and >= 0"
                )
            set_field(name, values)
        for name in ("bytes_per_synapse", "dt_ms"):
            value = float(getattr(self, name))
            if not (np.isfinite(value) and value >= 0) or (name == "dt_ms" and value == 0):
                raise UnfeasibleError(f"Graph.{name} is {value}; it must be finite and > 0")
            set_field(name, value)

    @property
    def n_vertices(self) -> int:
        """Number of vertices V."""
        return int(self.n_atoms.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of edges E (duplicates counted)."""
        return int(self.edges.shape[0])

    def rates(self) -> np.ndarray:
        """Expected rate of each vertex in Hz (float64[V]; the default where none is given)."""
        if self.rate_hz is None:
            return np.full(self.n_vertices, DEFAULT_RATE_HZ)
        return self.rate_hz

    def spikes_per_step(self) -> np.ndarray:
        """Expected spikes per time step of each whole vertex (float64[V])."""
        return self.n_atoms * self.rates() * (self.dt_ms / 1000.0)

    def incoming_synapses(self) -> np.ndarray:
        """Expected synapses ending on each vertex (float64[V]; 0 without estimates)."""
        if self.synapses is None:
            return np.zeros(self.n_vertices)
        return np.bincount(self.edges[:, 1], weights=self.synapses, minlength=self.n_vertices)

    def slice_load(self, vertex: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Load of slices of ``vertex`` with ``sizes`` atoms: their work per
        step (seconds) where costs are given, else their atoms."""
        if self.cost_per_atom is None:
            return sizes.astype(np.float64)
        return sizes * self.cost_per_atom[vertex]

    def memory_per_atom(self) -> np.ndarray:
        """Expected bytes per atom of each vertex, its incoming synapses included (float64[V])."""
        state = np.zeros(self.n_vertices) if self.bytes_per_atom is None else self.bytes_per_atom
        return state + self.bytes_per_synapse * self.incoming_synapses() / self.n_atoms


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
    tables : tuple of RoutingTable, or None
        ``tables[r]`` is the router of rank ``r``; None when each rank builds
        its own from footprints (a simulation's mapping).
    ranks_per_node : int, optional
        Consecutive ranks sharing a node (for the traffic report); ``None``:
        one node.
    entries_before : int64[n_ranks], optional
        Entries per rank before compression (for the report).
    timing_s : dict, optional
        Seconds spent in each stage (for the report; not part of the digest,
        since it differs between processes).
    """

    graph: Graph
    slices: Slices
    placement: Placement
    keys: KeySpace
    tables: tuple[RoutingTable, ...] | None
    ranks_per_node: int | None = None
    entries_before: np.ndarray | None = None
    timing_s: dict | None = None

    def __post_init__(self) -> None:
        if self.tables is None:
            return
        object.__setattr__(self, "tables", tuple(self.tables))
        if len(self.tables) != self.placement.n_ranks:
            raise PartitioningError(
                f"{len(self.tables)} routing tables for {self.placement.n_ranks} ranks"
            )
        if self.entries_before is not None:
            object.__setattr__(self, "entries_before", _as_array(
                self.entries_before, np.int64, "Mapping.entries_before"))

    @property
    def n_ranks(self) -> int:
        """Number of ranks."""
        return self.placement.n_ranks

    def digest(self) -> str:
        """SHA-256 (hex) of every array of the mapping and of ``n_ranks``.

        Compare it across ranks to prove they all hold the same mapping.
        """
        digest = hashlib.sha256()
        digest.update(f"n_ranks={self.n_ranks};ranks_per_node={self.ranks_per_node};".encode())
        digest.update(json.dumps(list(self.graph.labels)).encode())
        graph = self.graph
        digest.update(f"bytes_per_synapse={graph.bytes_per_synapse!r};"
                      f"dt_ms={graph.dt_ms!r};".encode())
        for name, array in (
            ("n_atoms", graph.n_atoms),
            ("max_atoms_per_core", graph.max_atoms_per_core),
            ("edges", graph.edges),
            ("edge_weight", graph.edge_weight),
            ("synapses", graph.synapses),
            ("rate_hz", graph.rate_hz),
            ("bytes_per_atom", graph.bytes_per_atom),
            ("cost_per_atom", graph.cost_per_atom),
            ("vertex", self.slices.vertex),
            ("lo", self.slices.lo),
            ("hi", self.slices.hi),
            ("rank", self.placement.rank),
            ("base", self.keys.base),
            ("mask", self.keys.mask),
            ("offset_bits", np.array([self.keys.offset_bits], dtype=np.int64)),
        ):
            _hash_array(digest, name, np.zeros(0) if array is None else array)
        for table in self.tables or ():
            digest.update(f"table {table.rank};".encode())
            for name in ("key", "mask", "dest_ptr", "dest_rank"):
                _hash_array(digest, name, getattr(table, name))
        return digest.hexdigest()

    def report(self) -> dict:
        """Summary for ``spinn map`` and logs (JSON-serialisable).

        See :func:`partitioning.report.mapping_report` for the keys; among
        them ``n_ranks``, ``n_slices``, ``n_atoms`` (total), and per rank
        (lists indexed by rank) ``atoms_per_rank``, ``slices_per_rank``,
        ``entries_per_rank`` (routing-table entries), ``destinations_per_rank``
        (sum of table fan-out), and ``imbalance`` = max / mean atoms per rank
        (1.0 is perfect).
        """
        from .report import mapping_report  # report needs traffic, which needs routing

        return mapping_report(self)
