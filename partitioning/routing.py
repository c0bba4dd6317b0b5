"""Build the routing table of every rank."""

from __future__ import annotations

import numpy as np

from .compress import minimise_cubes, routes_of, tables_from_entries
from .errors import PartitioningError
from .model import Graph, KeySpace, Placement, RoutingTable, Slices

__all__ = ["build_tables", "build_table", "build_compressed_tables", "vertex_destinations",
           "count_entries", "footprint_table"]


def _check_sizes(slices: Slices, placement: Placement, keys: KeySpace) -> None:
    n_slices = slices.n_slices
    if placement.rank.shape != (n_slices,) or keys.base.shape != (n_slices,):
        raise PartitioningError(
            f"{n_slices} slices but placement has {placement.rank.shape[0]} ranks and "
            f"key space {keys.base.shape[0]} bases: build them from the same Slices"
        )
    if n_slices and (placement.rank.min() < 0 or placement.rank.max() >= placement.n_ranks):
        raise PartitioningError(
            f"placement puts slices on ranks outside [0, {placement.n_ranks}): "
            f"min {int(placement.rank.min())}, max {int(placement.rank.max())}"
        )


def _group(owner: np.ndarray, n_groups: int, n_owners: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ``(owner, group)`` codes → CSR ``(ptr[n_owners + 1], group)``."""
    owner_of, group = np.divmod(owner, n_groups)
    ptr = np.searchsorted(owner_of, np.arange(n_owners + 1, dtype=np.int64))
    return ptr.astype(np.int64), group


def vertex_destinations(
    graph: Graph, slices: Slices, placement: Placement
) -> tuple[np.ndarray, np.ndarray]:
    """Ranks that must receive the spikes of each vertex, as CSR.

    A spike of vertex ``v`` must reach every rank hosting a slice of any
    post vertex of an edge leaving ``v`` (every slice of the pre vertex
    targets every slice of the post vertex).

    Returns
    -------
    ptr : int64[V + 1]
    ranks : int64[ptr[-1]]
        Vertex ``v`` sends to ``ranks[ptr[v]:ptr[v + 1]]`` (ascending, unique).
    """
    n_vertices, n_ranks = graph.n_vertices, placement.n_ranks
    # Work on unique integer codes ``a * n + b``: np.unique then sorts by
    # (a, b) and removes duplicates in one call.
    host_ptr, host_rank = _group(
        np.unique(slices.vertex * n_ranks + placement.rank), n_ranks, n_vertices
    )
    pre, post = np.divmod(np.unique(graph.edges[:, 0] * n_vertices + graph.edges[:, 1]), n_vertices)
    counts = host_ptr[post + 1] - host_ptr[post]
    first = np.cumsum(counts) - counts
    index = np.repeat(host_ptr[post] - first, counts) + np.arange(counts.sum(), dtype=np.int64)
    pairs = np.unique(np.repeat(pre, counts) * n_ranks + host_rank[index])
    return _group(pairs, n_ranks, n_vertices)


def _tables(graph, slices, placement, keys, ranks) -> list[RoutingTable]:
    _check_sizes(slices, placement, keys)
    vertex_ptr, vertex_rank = vertex_destinations(graph, slices, placement)
    n_dest = np.diff(vertex_ptr)
    # Entries: slices with at least one destination, grouped by rank, by slice id within a rank.
    order = np.argsort(placement.rank, kind="stable")
    order = order[n_dest[slices.vertex[order]] > 0]
    rank_ptr = np.searchsorted(placement.rank[order], np.arange(placement.n_ranks + 1))
    entry_key = keys.base[order]
    entry_mask = keys.mask[order]
    entry_vertex = slices.vertex[order]
    entry_end = np.zeros(order.shape[0] + 1, dtype=np.int64)
    np.cumsum(n_dest[entry_vertex], out=entry_end[1:])
    # Consecutive entries of one vertex on one rank share their destinations:
    # copy each run's list by concatenating views, not by a gather per entry.
    entry_rank = placement.rank[order]
    change = np.ones(order.shape[0], dtype=bool)
    change[1:] = (entry_vertex[1:] != entry_vertex[:-1]) | (entry_rank[1:] != entry_rank[:-1])
    run_first = np.flatnonzero(change)
    run_length = np.diff(np.append(run_first, order.shape[0])).tolist()
    run_vertex = entry_vertex[run_first].tolist()
    run_ptr = np.searchsorted(entry_rank[run_first], np.arange(placement.n_ranks + 1)).tolist()
    segments = [vertex_rank[a:b] for a, b in zip(vertex_ptr[:-1].tolist(), vertex_ptr[1:].tolist())]
    empty = np.zeros(0, dtype=np.int64)
    tables = []
    for rank in ranks:
        a, b = rank_ptr[rank], rank_ptr[rank + 1]
        pieces = []
        for run in range(run_ptr[rank], run_ptr[rank + 1]):
            pieces += [segments[run_vertex[run]]] * run_length[run]
        dest_rank = np.concatenate(pieces) if pieces else empty
        tables.append(RoutingTable(
            rank=rank, key=entry_key[a:b], mask=entry_mask[a:b],
            dest_ptr=entry_end[a:b + 1] - entry_end[a], dest_rank=dest_rank,
        ))
    return tables


def build_tables(
    graph: Graph, slices: Slices, placement: Placement, keys: KeySpace
) -> tuple[RoutingTable, ...]:
    """Build one routing table per rank.

    The table of rank ``r`` holds one entry per slice ``s`` placed on ``r``
    whose vertex has at least one destination, ordered by slice id:
    ``key = base[s]``, ``mask = mask[s]``, destinations = the ranks hosting
    any slice of any post vertex of an edge leaving ``vertex[s]`` (see
    :func:`vertex_destinations`), ascending and unique, so each rank gets a
    spike once and ranks without targets get nothing. A self-loop makes the
    host rank a destination of its own slices.

    Cost: O(S log S + E log E) for the per-vertex destination sets, then one
    concatenation per rank. The output holds the sum over slices of their
    fan-out (about 81 M ranks, 650 MB, for 400 k slices on 16384 ranks with
    five post vertices per vertex): a rank that needs only its own router
    should call :func:`build_table`.

    Parameters
    ----------
    graph, slices, placement, keys
        Outputs of the earlier stages for the same graph.

    Returns
    -------
    tuple of RoutingTable
        ``tables[r]`` belongs to rank ``r``; a rank hosting nothing (or only
        slices without targets) gets an empty table.

    Raises
    ------
    PartitioningError
        The inputs disagree on the number of slices, or a rank is out of range.
    """
    return tuple(_tables(graph, slices, placement, keys, range(placement.n_ranks)))


def build_table(
    graph: Graph, slices: Slices, placement: Placement, keys: KeySpace, rank: int
) -> RoutingTable:
    """Build the routing table of one rank only; equal to ``build_tables(...)[rank]``.

    For a rank that needs just its own router: memory O(own entries) instead
    of the tables of every rank.
    """
    if not 0 <= rank < placement.n_ranks:
        raise PartitioningError(f"rank {rank} is outside [0, {placement.n_ranks})")
    return _tables(graph, slices, placement, keys, [int(rank)])[0]


def count_entries(graph: Graph, slices: Slices, placement: Placement) -> np.ndarray:
    """Entries per rank of the uncompressed tables (:func:`build_tables`), without building them.

    Returns
    -------
    int64[n_ranks]
        Slices on each rank whose vertex has at least one post vertex.
    """
    has_target = np.zeros(graph.n_vertices, dtype=bool)
    has_target[graph.edges[:, 0]] = True
    return np.bincount(placement.rank[has_target[slices.vertex]],
                       minlength=placement.n_ranks).astype(np.int64)


def build_compressed_tables(
    graph: Graph, slices: Slices, placement: Placement, keys: KeySpace, *, ranks=None
) -> tuple[RoutingTable, ...]:
    """The tables of :func:`build_tables`, compressed, without building those first.

    Each rank's table routes the keys of the slices it hosts exactly as
    :func:`build_tables` does (its keys in use); keys of slices on other
    ranks are "don't care". One call compresses all ranks at once (see
    :mod:`partitioning.compress`); memory is O(slices + compressed entries
    x fan-out), never the uncompressed tables (about 650 MB at 400 k slices
    on 16384 ranks).

    Parameters
    ----------
    graph, slices, placement, keys
        Outputs of the earlier stages for the same graph.
    ranks : sequence of int, optional
        Build only these ranks' tables (default: every rank), e.g. the ranks
        one process hosts.

    Returns
    -------
    tuple of RoutingTable
        One per rank of ``ranks``, in that order.
    """
    _check_sizes(slices, placement, keys)
    ranks = range(placement.n_ranks) if ranks is None else [int(r) for r in ranks]
    vertex_ptr, vertex_rank = vertex_destinations(graph, slices, placement)
    vertex_label, routes = routes_of(vertex_ptr, vertex_rank)
    selected = np.isin(placement.rank, np.asarray(list(ranks), dtype=np.int64))
    rank_of, label, key, mask = minimise_cubes(
        placement.rank[selected], vertex_label[slices.vertex[selected]],
        keys.base[selected], keys.mask[selected])
    return tuple(tables_from_entries(rank_of, label, key, mask, routes, list(ranks)))


def footprint_table(rank: int, keys: KeySpace, slice_ids, dest_ptr, dest_rank, *,
                    compress: bool = True) -> RoutingTable:
    """The routing table of one rank from its footprints.

    Each rank knows, from the synapses it generated, which slices it needs;
    the owners of those slices learn it once at build. Slice ``slice_ids[i]``
    (on ``rank``) must then reach exactly ``dest_rank[dest_ptr[i]:dest_ptr[i +
    1]]`` (ascending, unique; empty: nowhere), which is finer than
    :func:`build_tables`' per-vertex routes: a spike goes only to ranks that
    hold at least one of its targets.

    Parameters
    ----------
    rank : int
    keys : KeySpace
    slice_ids : int64[L]
        The slices placed on ``rank``.
    dest_ptr : int64[L + 1]
    dest_rank : int64[dest_ptr[-1]]
    compress : bool, keyword-only
        Minimise the entries (:func:`minimise_cubes`, every key of the
        listed slices in use; keys of slices without destinations route
        nowhere), else one entry per slice that has destinations.

    Returns
    -------
    RoutingTable
        Check it with :func:`partitioning.checks.check_footprint_table`.
    """
    slice_ids = np.asarray(slice_ids, dtype=np.int64)
    dest_ptr = np.asarray(dest_ptr, dtype=np.int64)
    dest_rank = np.asarray(dest_rank, dtype=np.int64)
    label, routes = routes_of(dest_ptr, dest_rank)
    key, mask = keys.base[slice_ids], keys.mask[slice_ids]
    if not compress:
        on = label >= 0
        counts = np.diff(dest_ptr)[on]
        ptr = np.zeros(int(on.sum()) + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        index = np.repeat(dest_ptr[:-1][on] - ptr[:-1], counts) + np.arange(ptr[-1])
        return RoutingTable(rank=rank, key=key[on], mask=mask[on], dest_ptr=ptr,
                            dest_rank=dest_rank[index])
    table_of, label, key, mask = minimise_cubes(
        np.full(slice_ids.shape[0], rank, dtype=np.int64), label, key, mask)
    return tables_from_entries(table_of, label, key, mask, routes, [rank])[0]
