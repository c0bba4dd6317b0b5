"""One checker per invariant of the mapping.

Each ``check_*`` returns ``None`` when the invariant holds and raises
:class:`~partitioning.errors.PartitioningError` naming the first offending
vertex, slice, rank or key otherwise. They are written independently of the
stages they check (a different formulation where one exists), vectorised over
atoms, and cheap enough for debug runs at scale.
"""

from __future__ import annotations

import numpy as np

from .errors import PartitioningError
from .model import Graph, KeySpace, Placement, RoutingTable, Slices

__all__ = [
    "check_slices", "check_placement", "check_keys", "check_tables", "check_compression",
    "expected_destinations",
]


def _fail(message: str) -> None:
    raise PartitioningError(message)


def _first(condition: np.ndarray) -> int | None:
    hits = np.flatnonzero(condition)
    return int(hits[0]) if hits.size else None


def _describe(slices: Slices, s: int, graph: Graph | None = None) -> str:
    v = int(slices.vertex[s])
    name = f"vertex {v}"
    if graph is not None and 0 <= v < graph.n_vertices:
        name += f" ({graph.labels[v]!r})"
    return f"slice {s} ({name}, atoms [{int(slices.lo[s])}, {int(slices.hi[s])}))"


def check_slices(graph: Graph, slices: Slices) -> None:
    """Every atom of every vertex is in exactly one slice, of at most ``max_atoms_per_core`` atoms.

    Also checks the order ``(vertex, lo)`` that slice ids (core ids) and keys
    rely on.

    Raises
    ------
    PartitioningError
    """
    n_vertices, n_slices = graph.n_vertices, slices.n_slices
    vertex, lo, hi = slices.vertex, slices.lo, slices.hi
    if (s := _first((vertex < 0) | (vertex >= n_vertices))) is not None:
        _fail(f"{_describe(slices, s)} names a vertex outside [0, {n_vertices})")
    sizes = hi - lo
    if (s := _first(sizes < 1)) is not None:
        _fail(f"{_describe(slices, s, graph)} is empty or reversed; slices hold >= 1 atom")
    limit = graph.max_atoms_per_core[vertex]
    if (s := _first(sizes > limit)) is not None:
        _fail(f"{_describe(slices, s, graph)} has {int(sizes[s])} atoms, more than "
              f"max_atoms_per_core={int(limit[s])}")
    if (s := _first(np.diff(vertex) < 0)) is not None:
        _fail(f"slices are not ordered by vertex: {_describe(slices, s + 1, graph)} "
              f"follows {_describe(slices, s, graph)}")
    first = np.ones(n_slices, dtype=bool)
    first[1:] = vertex[1:] != vertex[:-1]
    last = np.roll(first, -1)
    if (s := _first(first & (lo != 0))) is not None:
        _fail(f"atoms [0, {int(lo[s])}) of vertex {int(vertex[s])} ({graph.labels[vertex[s]]!r}) "
              f"are in no slice: its first slice is {_describe(slices, s, graph)}")
    gap = np.zeros(n_slices, dtype=np.int64)
    gap[1:] = lo[1:] - hi[:-1]
    if (s := _first(~first & (gap != 0))) is not None:
        what = (f"atoms [{int(hi[s - 1])}, {int(lo[s])}) are in no slice" if gap[s] > 0
                else f"atoms [{int(lo[s])}, {int(hi[s - 1])}) are in two slices (or out of order)")
        _fail(f"{what}: {_describe(slices, s - 1, graph)} is followed by "
              f"{_describe(slices, s, graph)}")
    n_atoms = graph.n_atoms[vertex]
    if (s := _first(last & (hi != n_atoms))) is not None:
        _fail(f"the last slice of vertex {int(vertex[s])} ({graph.labels[vertex[s]]!r}) is "
              f"{_describe(slices, s, graph)} but the vertex has {int(n_atoms[s])} atoms")
    present = np.zeros(n_vertices, dtype=bool)
    present[vertex] = True
    if (v := _first(~present)) is not None:
        _fail(f"vertex {v} ({graph.labels[v]!r}) has {int(graph.n_atoms[v])} atoms but no slice")


def check_placement(slices: Slices, placement: Placement) -> None:
    """Every slice is on exactly one rank, in ``[0, n_ranks)``.

    Raises
    ------
    PartitioningError
    """
    if placement.n_ranks < 1:
        _fail(f"placement has n_ranks={placement.n_ranks}; it must be >= 1")
    if placement.rank.shape != (slices.n_slices,):
        _fail(f"placement gives {placement.rank.shape[0]} ranks for {slices.n_slices} slices; "
              f"every slice needs exactly one rank")
    rank = placement.rank
    if (s := _first((rank < 0) | (rank >= placement.n_ranks))) is not None:
        _fail(f"{_describe(slices, s)} is placed on rank {int(rank[s])}, "
              f"outside [0, {placement.n_ranks})")


def _smear(values: np.ndarray) -> np.ndarray:
    """Set every bit below the highest set bit: the union of the bits of ``0..values``."""
    values = values.astype(np.uint32)
    for shift in (1, 2, 4, 8, 16):
        values |= values >> np.uint32(shift)
    return values


def check_keys(slices: Slices, keys: KeySpace) -> None:
    """Key ranges never overlap, and every key fits its slice's mask.

    Checks: ``base & ~mask == 0``; masks are ones above zeros (the offset is
    in the low bits); every offset ``0 .. size - 1`` lies under the zeros of
    the mask; the used ranges ``[base, base + size)`` of two slices never
    overlap, nor do their masked blocks (so no key of one slice matches
    another slice's entry); and bases increase with slice id (sorting keys
    sorts atoms by ``(vertex, atom)``).

    Raises
    ------
    PartitioningError
    """
    n_slices = slices.n_slices
    if keys.base.shape != (n_slices,):
        _fail(f"key space has {keys.base.shape[0]} bases for {n_slices} slices")
    base, mask = keys.base, keys.mask
    if (s := _first(base & ~mask)) is not None:
        _fail(f"{_describe(slices, s)} has base {int(base[s]):#010x} with bits outside "
              f"its mask {int(mask[s]):#010x}")
    free = ~mask  # the offset bits
    if (s := _first(free & (free + np.uint32(1)))) is not None:
        _fail(f"{_describe(slices, s)} has mask {int(mask[s]):#010x}; masks must be ones "
              f"above zeros (offset in the low bits)")
    sizes = slices.sizes()
    if (s := _first(_smear(np.maximum(sizes - 1, 0)) & mask)) is not None:
        _fail(f"{_describe(slices, s)} has {int(sizes[s])} atoms but its mask "
              f"{int(mask[s]):#010x} leaves only {int(free[s]) + 1} offsets")
    order = np.argsort(base, kind="stable")
    start = base[order].astype(np.int64)
    for name, end in (("key ranges", start + sizes[order]),
                      ("masked key blocks", start + free[order].astype(np.int64) + 1)):
        if (i := _first(start[1:] < end[:-1])) is not None:
            a, b = int(order[i]), int(order[i + 1])
            _fail(f"{name} overlap: {_describe(slices, a)} has [{int(start[i]):#x}, "
                  f"{int(end[i]):#x}) and {_describe(slices, b)} starts at {int(start[i + 1]):#x}")
    if (s := _first(np.diff(base.astype(np.int64)) <= 0)) is not None:
        _fail(f"keys do not increase with slice id: {_describe(slices, s + 1)} has base "
              f"{int(base[s + 1]):#x} <= {int(base[s]):#x} of slice {s}")


def expected_destinations(graph: Graph, slices: Slices, placement: Placement) -> list[np.ndarray]:
    """For each vertex, the sorted ranks hosting a slice of one of its post vertices.

    A plain per-vertex formulation, kept apart from
    :func:`partitioning.routing.vertex_destinations` so the checker does not
    share that code.
    """
    n_vertices = graph.n_vertices
    order = np.lexsort((placement.rank, slices.vertex))
    bounds = np.searchsorted(slices.vertex[order], np.arange(n_vertices + 1))
    hosts = [np.unique(placement.rank[order[a:b]]) for a, b in zip(bounds[:-1], bounds[1:])]
    edges = np.unique(graph.edges, axis=0) if graph.n_edges else graph.edges
    bounds = np.searchsorted(edges[:, 0], np.arange(n_vertices + 1))
    empty = np.zeros(0, dtype=np.int64)
    return [
        np.unique(np.concatenate([hosts[u] for u in edges[a:b, 1]])) if b > a else empty
        for a, b in zip(bounds[:-1], bounds[1:])
    ]


def _check_table_structure(table: RoutingTable, rank: int, n_ranks: int) -> None:
    where = f"routing table of rank {rank}"
    if table.rank != rank:
        _fail(f"{where} says it belongs to rank {table.rank}")
    ptr, dest = table.dest_ptr, table.dest_rank
    if ptr[0] != 0 or ptr[-1] != dest.shape[0] or np.any(np.diff(ptr) < 0):
        _fail(f"{where}: dest_ptr {ptr[:8].tolist()}... is not a CSR pointer over "
              f"{dest.shape[0]} destinations")
    if (i := _first((dest < 0) | (dest >= n_ranks))) is not None:
        _fail(f"{where} sends to rank {int(dest[i])}, outside [0, {n_ranks})")
    increasing = np.diff(dest) > 0
    entry_start = ptr[1:-1]
    increasing[entry_start[(entry_start > 0) & (entry_start < dest.shape[0])] - 1] = True
    if (i := _first(~increasing)) is not None:
        entry = int(np.searchsorted(ptr, i, side="right") - 1)
        _fail(f"{where}: destinations of entry {entry} "
              f"{dest[ptr[entry]:ptr[entry + 1]].tolist()} are not ascending and unique "
              f"(a rank would get a spike twice)")


def _free_low_bits(*masks: np.ndarray) -> int:
    """Trailing bits that are 0 in every mask: routing ignores them (32 if no mask has a 1)."""
    used = 0
    for mask in masks:
        used |= int(np.bitwise_or.reduce(mask)) if mask.size else 0
    return (used & -used).bit_length() - 1 if used else 32


def _slice_keys(keys: KeySpace, local: np.ndarray, sizes: np.ndarray, low: int):
    """One key per distinct ``key >> low`` among the keys of each slice in ``local``.

    Tables whose masks are 0 on the ``low`` lowest bits route every key like
    its representative, so routing these proves every key (exactly). Returns
    ``(slice of each key, offset, key)``.
    """
    counts = ((sizes[local] - 1) >> min(low, 62)) + 1
    key_slice = np.repeat(local, counts)
    first = np.cumsum(counts) - counts
    offset = (np.arange(key_slice.shape[0], dtype=np.int64) - np.repeat(first, counts)) << low
    return key_slice, offset, keys.base[key_slice] | offset.astype(np.uint32)


def check_tables(graph: Graph, slices: Slices, placement: Placement, keys: KeySpace,
                 tables, *, every_key: bool = True) -> None:
    """Every key a rank emits reaches exactly the ranks holding a target of it, once.

    For each rank ``r`` and each slice ``s`` placed on ``r``, the keys of
    ``s`` routed by ``tables[r]`` must go to exactly the ranks hosting a slice
    of a post vertex of ``vertex[s]`` (nowhere if it has none), with no rank
    twice. Compressed tables are checked the same way: keys other ranks emit
    are not looked at (a rank only routes its own keys).

    Parameters
    ----------
    graph, slices, placement, keys, tables
        The mapping to check; ``tables[r]`` is the router of rank ``r``.
    every_key : bool, keyword-only
        Prove the route of every atom's key (default). The proof routes one
        key per distinct ``key >> b``, where ``b`` is the number of low bits
        that no mask of the table looks at: with tables that never match on
        offset bits (those of :func:`partitioning.build_tables` and
        :func:`partitioning.compress_table`) that is one key per slice, so
        the check costs O(slices), not O(atoms). ``False`` routes only the
        first and last key of each slice: a spot check for hand-made tables.

    Raises
    ------
    PartitioningError
    """
    n_ranks = placement.n_ranks
    tables = tuple(tables)
    if len(tables) != n_ranks:
        _fail(f"{len(tables)} routing tables for {n_ranks} ranks; every rank needs one")
    if placement.rank.shape != (slices.n_slices,) or keys.base.shape != (slices.n_slices,):
        _fail(f"{slices.n_slices} slices but {placement.rank.shape[0]} placed slices and "
              f"{keys.base.shape[0]} key bases: check_placement and check_keys first")
    expected = expected_destinations(graph, slices, placement)
    want_len = np.array([e.shape[0] for e in expected], dtype=np.int64)
    want_ptr = np.zeros(graph.n_vertices + 1, dtype=np.int64)
    np.cumsum(want_len, out=want_ptr[1:])
    want_rank = np.concatenate(expected) if expected else np.zeros(0, dtype=np.int64)
    order = np.argsort(placement.rank, kind="stable")
    bounds = np.searchsorted(placement.rank[order], np.arange(n_ranks + 1))
    sizes = slices.sizes()
    for rank, table in enumerate(tables):
        _check_table_structure(table, rank, n_ranks)
        local = order[bounds[rank]:bounds[rank + 1]]
        if local.size == 0:
            continue
        if every_key:
            key_slice, offset, key = _slice_keys(keys, local, sizes, _free_low_bits(table.mask))
        else:
            key_slice = np.repeat(local, 2)
            offset = np.stack([np.zeros_like(local), sizes[local] - 1], axis=1).ravel()
            key = keys.base[key_slice] | offset.astype(np.uint32)
        entry = table.match(key)
        # Compare got and wanted destination lists of every key at once (CSR gathers).
        vertex = slices.vertex[key_slice]
        safe = np.maximum(entry, 0)
        ptr = np.append(table.dest_ptr, table.dest_ptr[-1])  # safe + 1 exists in an empty table
        got_start = ptr[safe]
        got_len = np.where(entry >= 0, ptr[safe + 1] - got_start, 0)
        bad = got_len != want_len[vertex]
        n_common = np.where(bad, 0, got_len)
        position = np.repeat(np.arange(key.shape[0]), n_common)
        step = np.arange(n_common.sum(), dtype=np.int64) - np.repeat(np.cumsum(n_common) - n_common,
                                                                      n_common)
        differs = (table.dest_rank[got_start[position] + step]
                   != want_rank[want_ptr[vertex[position]] + step])
        bad[position[differs]] = True
        if (i := _first(bad)) is not None:
            s, e = int(key_slice[i]), int(entry[i])
            want = expected[slices.vertex[s]]
            got = table.dest_rank[table.dest_ptr[e]:table.dest_ptr[e + 1]] if e >= 0 else want[:0]
            missing = np.setdiff1d(want, got).tolist()
            extra = np.setdiff1d(got, want).tolist()
            via = f"entry {e}" if e >= 0 else "no entry"
            _fail(f"rank {rank} routes key {int(key[i]):#010x} (offset {int(offset[i])} of "
                  f"{_describe(slices, s, graph)}) via {via} to ranks {got.tolist()}, "
                  f"but its targets are on ranks {want.tolist()}: missing {missing}, "
                  f"extra {extra}")


def _representative_keys(keys_in_use, low: int) -> np.ndarray:
    """One key per distinct ``key >> low`` of the keys in use (an array, or ranges)."""
    if isinstance(keys_in_use, tuple):
        start, stop = (np.asarray(x, dtype=np.int64).ravel() for x in keys_in_use)
        keep = stop > start
        first, last = start[keep] >> low, (stop[keep] - 1) >> low
        counts = last - first + 1
        offset = np.arange(counts.sum(), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts,
                                                                     counts)
        values = np.repeat(first, counts) + offset
    else:
        values = np.asarray(keys_in_use, dtype=np.uint32).ravel().astype(np.int64) >> low
    return (np.unique(values) << low).astype(np.uint32)


def check_compression(original: RoutingTable, compressed: RoutingTable, keys_in_use) -> None:
    """Prove that ``compressed`` routes every key in use exactly as ``original``.

    Vectorised: routes one key per distinct ``key >> b`` through both tables,
    ``b`` being the number of low bits that no mask of either table looks at
    (both tables route all keys sharing ``key >> b`` alike, so this is a
    proof for every key, not a sample).

    Parameters
    ----------
    original, compressed : RoutingTable
    keys_in_use : uint32 array, or tuple ``(start, stop)`` of int arrays
        The keys the rank emits: explicit keys, or half-open key ranges
        ``[start[i], stop[i])``.

    Raises
    ------
    PartitioningError
        Naming the first key whose destinations differ, and both routes.
    """
    where = f"compressed routing table of rank {compressed.rank}"
    if compressed.rank != original.rank:
        _fail(f"{where} replaces the table of rank {original.rank}")
    ptr, dest = compressed.dest_ptr, compressed.dest_rank
    if ptr[0] != 0 or ptr[-1] != dest.shape[0] or np.any(np.diff(ptr) < 0):
        _fail(f"{where}: dest_ptr is not a CSR pointer over {dest.shape[0]} destinations")
    key = _representative_keys(keys_in_use, _free_low_bits(original.mask, compressed.mask))
    want_ptr, want = original.route(key)
    got_ptr, got = compressed.route(key)
    bad = np.diff(want_ptr) != np.diff(got_ptr)
    if not bad.any() and not np.array_equal(want, got):
        position = np.repeat(np.arange(key.shape[0]), np.diff(got_ptr))
        bad[position[want != got]] = True
    if (i := _first(bad)) is not None:
        entry = int(compressed.match(key[i:i + 1])[0])
        _fail(f"{where} sends key {int(key[i]):#010x} (via entry {entry}) to ranks "
              f"{got[got_ptr[i]:got_ptr[i + 1]].tolist()}, but the original table sends it "
              f"to {want[want_ptr[i]:want_ptr[i + 1]].tolist()}")


def check_footprint_table(table: RoutingTable, keys: KeySpace, slice_ids, dest_ptr,
                          dest_rank) -> None:
    """Prove that ``table`` sends every key of slice ``slice_ids[i]`` to exactly
    ``dest_rank[dest_ptr[i]:dest_ptr[i + 1]]`` (see
    :func:`partitioning.routing.footprint_table`).

    One key per slice is routed: no entry of a table built from slice cubes
    looks at offset bits, and the check verifies that, so every key of a
    slice routes like its base.

    Raises
    ------
    PartitioningError
        Naming the first slice whose route differs, and both routes.
    """
    slice_ids = np.asarray(slice_ids, dtype=np.int64)
    offset_bits = np.uint32((1 << keys.offset_bits) - 1)
    if table.mask.size and np.any(table.mask & offset_bits):
        _fail(f"routing table of rank {table.rank} has an entry that looks at offset bits")
    got_ptr, got = table.route(keys.base[slice_ids])
    want_ptr = np.asarray(dest_ptr, dtype=np.int64)
    want = np.asarray(dest_rank, dtype=np.int64)
    if np.array_equal(got_ptr, want_ptr) and np.array_equal(got, want):
        return
    for i, s in enumerate(slice_ids.tolist()):
        a = got[got_ptr[i]:got_ptr[i + 1]].tolist()
        b = want[want_ptr[i]:want_ptr[i + 1]].tolist()
        if a != b:
            _fail(f"rank {table.rank} routes slice {s} (key {int(keys.base[s]):#010x}) to ranks "
                  f"{a}, but its targets are on ranks {b}")
