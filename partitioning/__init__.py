"""Map a spiking network onto ranks: split, place, key, route.

Pure functions over frozen dataclasses of numpy arrays: no MPI, no I/O, no
logging set-up, never imports ``spinn``. Every process that maps the same
graph on the same number of ranks gets a bitwise-identical :class:`Mapping`
(compare :meth:`Mapping.digest` across ranks).

Stages (each a function, data in, data out)::

    Graph ─split_vertices─▶ Slices ─place_slices─▶ Placement
          ─allocate_keys─▶ KeySpace ─build_tables─▶ RoutingTable per rank

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
   nothing is broadcast. The first matching table entry wins.
5. **Determinism.** Same input, same output on every process: integer
   arithmetic, stable sorts, no randomness, no dependence on dict order.

Errors: :class:`PartitioningError` is the root (raised as such by a failed
check); :class:`UnfeasibleError` (also a ``ValueError``) when the input cannot
be mapped, with a message naming the vertex, the value and what to change.
"""

from .checks import check_keys, check_placement, check_slices, check_tables, expected_destinations
from .errors import PartitioningError, UnfeasibleError
from .keys import allocate_keys
from .model import Graph, KeySpace, Mapping, Placement, RoutingTable, Slices
from .place import place_round_robin, place_slices
from .routing import build_table, build_tables, vertex_destinations
from .split import split_vertices

__all__ = [
    "PartitioningError", "UnfeasibleError",
    "Graph", "Slices", "Placement", "KeySpace", "RoutingTable", "Mapping",
    "split_vertices", "place_slices", "place_round_robin", "allocate_keys",
    "build_tables", "build_table", "vertex_destinations",
    "check_slices", "check_placement", "check_keys", "check_tables", "expected_destinations",
    "map_network",
]


def map_network(graph: Graph, n_ranks: int, *, check: bool = True) -> Mapping:
    """Run every stage: split → place → keys → tables.

    Parameters
    ----------
    graph : Graph
    n_ranks : int
        Number of ranks (>= 1).
    check : bool, keyword-only
        Run every ``check_*`` on the result (routes every atom's key; costs
        about as much as mapping itself, more for very large networks).

    Returns
    -------
    Mapping

    Raises
    ------
    UnfeasibleError
        ``n_ranks`` < 1, or the slices do not fit the 32-bit key space.
    PartitioningError
        A check failed (a bug in a stage).
    """
    slices = split_vertices(graph)
    placement = place_slices(slices, n_ranks, graph=graph)
    keys = allocate_keys(slices)
    tables = build_tables(graph, slices, placement, keys)
    if check:
        check_slices(graph, slices)
        check_placement(slices, placement)
        check_keys(slices, keys)
        check_tables(graph, slices, placement, keys, tables)
    return Mapping(graph=graph, slices=slices, placement=placement, keys=keys, tables=tables)
