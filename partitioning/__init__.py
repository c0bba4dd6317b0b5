"""Map a spiking network onto ranks: split, place, key, route.

Pure functions over frozen dataclasses of numpy arrays: no MPI, no I/O, no
logging set-up, never imports ``spinn``. Every process that maps the same
graph on the same number of ranks gets a bitwise-identical :class:`Mapping`
(compare :meth:`Mapping.digest` across ranks).

Stages (each a function, data in, data out)::

    Graph ─split_vertices─▶ Slices ─place_traffic─▶ Placement
          ─allocate_keys─▶ KeySpace ─build_compressed_tables─▶ RoutingTable per rank

(``build_compressed_tables`` = ``build_tables`` then ``compress_table`` per
rank, fused so the uncompressed tables are never held.) Around them:
estimates in the :class:`Graph` (synapses per edge, rates, bytes per atom),
:func:`estimate_traffic` (packets per step between ranks and nodes) and
:meth:`Mapping.report` / :func:`report_text` for ``spinn map``.

Invariants (each has a checker in :mod:`partitioning.checks`, used by the tests
and by ``map_network(check=True)``):

1. **Slices** (:func:`check_slices`). Every atom of every vertex is in exactly
   one slice; a slice holds ``[lo, hi)`` (half-open) of one vertex, with
   ``1 <= hi - lo <= max_atoms_per_core``; slices are ordered by
   ``(vertex, lo)`` and a slice's index is its core id.
2. **Placement** (:func:`check_placement`). Every slice is on exactly one rank
   in ``[0, n_ranks)``; a rank may host nothing.
3. **Keys** (:func:`check_keys`). Atom ``i`` of slice ``s`` has key
   ``base[s] | (i - lo[s])`` (uint32); ``(key & mask[s]) == base[s]``; the
   key blocks of two slices never overlap; keys increase with slice id, so
   sorting keys sorts atoms by ``(vertex, atom)``.
4. **Routing** (:func:`check_tables`). Every key a rank emits reaches exactly
   the ranks hosting a slice of a post vertex of its vertex, each once;
   nothing is broadcast. The first matching table entry wins. Compression
   keeps the route of every key the rank emits (:func:`check_compression`);
   keys of other ranks are "don't care".
5. **Determinism.** Same input, same output on every process: stable sorts,
   seeded permutations only, ties broken by index, no dependence on dict order.

Errors: :class:`PartitioningError` is the root (raised as such by a failed
check); :class:`UnfeasibleError` (also a ``ValueError``) when the input cannot
be mapped, with a message naming the vertex, the value and what to change.
"""

import time

import numpy as np

from .checks import (
    check_compression, check_footprint_table, check_keys, check_placement, check_slices,
    check_tables, expected_destinations,
)
from .compress import compress_table
from .errors import PartitioningError, UnfeasibleError
from .keys import allocate_keys
from .model import DEFAULT_RATE_HZ, Graph, KeySpace, Mapping, Placement, RoutingTable, Slices
from .place import place_in_order, place_round_robin, place_slices, place_traffic
from .report import add_measured, mapping_report, report_text
from .routing import (
    build_compressed_tables, build_table, build_tables, count_entries, footprint_table,
    vertex_destinations,
)
from .split import atoms_per_core, split_vertices
from .traffic import Traffic, estimate_traffic, packets_per_step

__all__ = [
    "PartitioningError", "UnfeasibleError", "DEFAULT_RATE_HZ",
    "Graph", "Slices", "Placement", "KeySpace", "RoutingTable", "Mapping", "Traffic",
    "split_vertices", "atoms_per_core",
    "place_slices", "place_traffic", "place_in_order", "place_round_robin",
    "allocate_keys",
    "build_tables", "build_table", "build_compressed_tables", "compress_table",
    "footprint_table", "check_footprint_table",
    "vertex_destinations", "count_entries",
    "check_slices", "check_placement", "check_keys", "check_tables", "check_compression",
    "expected_destinations",
    "estimate_traffic", "packets_per_step", "mapping_report", "report_text", "add_measured",
    "map_network",
]

_PLACERS = ("traffic", "contiguous", "round_robin")


def _format_bytes(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.2f} MiB"


def _check_rank_memory(graph: Graph, slices: Slices, placement: Placement,
                       bytes_per_rank: float) -> int | None:
    """The first rank over its memory budget, or None."""
    need = np.bincount(placement.rank, weights=slices.sizes() * graph.memory_per_atom()[
        slices.vertex], minlength=placement.n_ranks)
    over = np.flatnonzero(need > bytes_per_rank)
    return int(over[0]) if over.size else None


def _place(graph, slices, n_ranks, placement, ranks_per_node, max_imbalance, bytes_per_rank):
    if placement not in _PLACERS:
        raise UnfeasibleError(f"placement is {placement!r}; use one of {', '.join(_PLACERS)}")
    if placement == "round_robin":
        return place_round_robin(slices, n_ranks)
    memory = slices.sizes() * graph.memory_per_atom()[slices.vertex]
    if bytes_per_rank is not None:
        total = float(memory.sum())
        if total > n_ranks * bytes_per_rank:
            need = int(np.ceil(total / bytes_per_rank))
            raise UnfeasibleError(
                f"the network needs {_format_bytes(total)} (state and synapses) but "
                f"{n_ranks} ranks x {_format_bytes(bytes_per_rank)} give only "
                f"{_format_bytes(n_ranks * bytes_per_rank)}: run on at least {need} ranks "
                f"(more if slices must stay whole), or on ranks with more memory"
            )
    work = None if graph.cost_per_atom is None else graph.slice_load(slices.vertex,
                                                                      slices.sizes())
    weights = [work] if bytes_per_rank is None else [work, memory]
    for weight in weights:
        if placement == "traffic":
            result = place_traffic(graph, slices, n_ranks, ranks_per_node=ranks_per_node,
                                   max_imbalance=max_imbalance, weight=weight)
        else:
            result = (place_slices(slices, n_ranks) if weight is None
                      else place_in_order(slices, n_ranks, max_imbalance=0.0, weight=weight))
        if bytes_per_rank is None or _check_rank_memory(graph, slices, result,
                                                        bytes_per_rank) is None:
            return result
    rank = _check_rank_memory(graph, slices, result, bytes_per_rank)
    local = result.rank == rank
    need = float(memory[local].sum())
    names = sorted({graph.labels[v] for v in np.unique(slices.vertex[local]).tolist()})
    raise UnfeasibleError(
        f"rank {rank} needs {_format_bytes(need)} for its slices of {', '.join(map(repr, names))} "
        f"but the budget per rank is {_format_bytes(bytes_per_rank)}; slices are too coarse to "
        f"balance memory: lower max_atoms_per_core (or give bytes_per_core), or run on more ranks"
    )


def map_network(graph: Graph, n_ranks: int, *, check: bool = True, placement: str = "traffic",
                ranks_per_node: int | None = None, max_imbalance: float = 0.05,
                bytes_per_core: float | None = None,
                bytes_per_rank: float | None = None, tables: bool = True) -> Mapping:
    """Run every stage: split → place → keys → compressed tables.

    Parameters
    ----------
    graph : Graph
    n_ranks : int
        Number of ranks (>= 1).
    check : bool, keyword-only
        Run every ``check_*`` on the result. :func:`check_tables` proves the
        route of every key each rank emits, at the cost of one key per slice
        (the tables never match on offset bits), so it stays exact at any
        size: about 5 s for 400 k slices on 16384 ranks.
    placement : {"traffic", "contiguous", "round_robin"}
        :func:`place_traffic` (default), :func:`place_slices` or
        :func:`place_round_robin`.
    ranks_per_node : int, optional
        Consecutive ranks sharing a node: placement keeps heavy traffic
        inside nodes, and the report splits traffic within/across nodes.
    max_imbalance : float
        Load-balance limit of :func:`place_traffic` (0.05: no rank more than
        5 % above the mean, when slices are small enough to allow it).
    bytes_per_core : float, optional
        Memory budget of one slice, in bytes (see :func:`split_vertices`).
    bytes_per_rank : float, optional
        Memory budget of one rank, in bytes: slices are cut to fit it, and
        placement balances memory instead of atoms if balancing atoms
        exceeds it.
    tables : bool, keyword-only
        Build the per-vertex routing tables of every rank (for reports). A
        simulation routes by footprint instead (:func:`footprint_table`,
        each rank its own table) and passes False.

    Returns
    -------
    Mapping
        With compressed routing tables, the uncompressed entry counts and
        the time of each stage (for :meth:`Mapping.report`).

    Raises
    ------
    UnfeasibleError
        ``n_ranks`` < 1, the slices do not fit the 32-bit key space, or the
        network does not fit the memory budgets (the message names the
        population or rank, the need, the budget and what to change).
    PartitioningError
        A check failed (a bug in a stage).
    """
    timing = {}
    start = time.perf_counter()

    def lap(name):
        nonlocal start
        now = time.perf_counter()
        timing[name] = now - start
        start = now

    # A slice must at least fit a rank.
    budgets = [b for b in (bytes_per_core, bytes_per_rank) if b is not None]
    slices = split_vertices(graph, bytes_per_core=min(budgets) if budgets else None)
    lap("split")
    placed = _place(graph, slices, n_ranks, placement, ranks_per_node, max_imbalance,
                    bytes_per_rank)
    lap("place")
    keys = allocate_keys(slices)
    lap("keys")
    routing, entries_before = None, None
    if tables:
        routing = build_compressed_tables(graph, slices, placed, keys)
        entries_before = count_entries(graph, slices, placed)
        lap("tables")
    if check:
        check_slices(graph, slices)
        check_placement(slices, placed)
        check_keys(slices, keys)
        if tables:
            check_tables(graph, slices, placed, keys, routing)
        lap("check")
    return Mapping(graph=graph, slices=slices, placement=placed, keys=keys, tables=routing,
                   ranks_per_node=ranks_per_node, entries_before=entries_before,
                   timing_s=timing)
