"""Cut vertices into slices (cores)."""

from __future__ import annotations

import numpy as np

from .errors import UnfeasibleError
from .model import Graph, Slices

__all__ = ["split_vertices", "atoms_per_core"]


def _format_bytes(n: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def atoms_per_core(graph: Graph, *, bytes_per_core: float | None = None) -> np.ndarray:
    """Largest slice of each vertex: ``max_atoms_per_core``, lowered to fit a memory budget.

    Parameters
    ----------
    graph : Graph
    bytes_per_core : float, optional
        Memory one core (slice) may use, in bytes; with
        :meth:`Graph.memory_per_atom` an atom's share (state and incoming
        synapses), a vertex gets at most ``floor(bytes_per_core / share)``
        atoms per core.

    Returns
    -------
    int64[V]

    Raises
    ------
    UnfeasibleError
        A single atom of some vertex needs more than ``bytes_per_core``: the
        message names the vertex, the need, the budget and what to change.
    """
    limit = graph.max_atoms_per_core.copy()
    if bytes_per_core is None:
        return limit
    if not bytes_per_core > 0:
        raise UnfeasibleError(f"bytes_per_core is {bytes_per_core}; give a budget > 0 bytes")
    per_atom = graph.memory_per_atom()
    with np.errstate(divide="ignore"):
        fit = np.floor(bytes_per_core / per_atom)
    fit = np.where(per_atom > 0, np.minimum(fit, np.iinfo(np.int64).max // 2), limit)
    bad = np.flatnonzero(fit < 1)
    if bad.size:
        v = int(bad[0])
        synapses = graph.incoming_synapses()[v] / graph.n_atoms[v]
        state = per_atom[v] - graph.bytes_per_synapse * synapses
        raise UnfeasibleError(
            f"population {graph.labels[v]!r} (vertex {v}) cannot fit one neuron on a core: a "
            f"neuron needs {_format_bytes(per_atom[v])} ({_format_bytes(state)} of state and "
            f"{synapses:.0f} incoming synapses x {graph.bytes_per_synapse:.0f} B) but the "
            f"budget per core is {_format_bytes(bytes_per_core)}. Raise the memory per core "
            f"(run fewer cores per rank or on nodes with more memory), or give this "
            f"population fewer incoming synapses"
        )
    return np.minimum(limit, fit.astype(np.int64))


def split_vertices(graph: Graph, *, bytes_per_core: float | None = None) -> Slices:
    """Cut every vertex into the fewest slices that fit a core, of near-equal size.

    Vertex ``v`` becomes ``k = ceil(n_atoms[v] / m[v])`` slices, ``m`` given
    by :func:`atoms_per_core` (``max_atoms_per_core``, lowered to fit
    ``bytes_per_core`` if given). With ``q, r = divmod(n_atoms[v], k)`` the
    *first* ``r`` slices hold ``q + 1`` atoms and the others ``q`` (larger
    slices first), so sizes differ by at most one and never exceed ``m[v]``.

    Parameters
    ----------
    graph : Graph
    bytes_per_core : float, keyword-only, optional
        Memory budget of one core (slice), in bytes.

    Returns
    -------
    Slices
        Ordered by ``(vertex, lo)``; ``lo``/``hi`` count atoms within the
        vertex (half-open).

    Raises
    ------
    UnfeasibleError
        One atom does not fit ``bytes_per_core`` (see :func:`atoms_per_core`).

    Examples
    --------
    >>> import numpy as np
    >>> g = Graph(np.array([10, 1]), np.array([4, 4]), np.zeros((0, 2)), ("a", "b"))
    >>> s = split_vertices(g)
    >>> s.vertex.tolist(), s.lo.tolist(), s.hi.tolist()
    ([0, 0, 0, 1], [0, 4, 7, 0], [4, 7, 10, 1])
    """
    n_atoms = graph.n_atoms
    n_per_vertex = -(-n_atoms // atoms_per_core(graph, bytes_per_core=bytes_per_core))
    first = np.zeros(n_per_vertex.shape[0] + 1, dtype=np.int64)
    np.cumsum(n_per_vertex, out=first[1:])
    vertex = np.repeat(np.arange(n_per_vertex.shape[0], dtype=np.int64), n_per_vertex)
    # Index of each slice within its vertex.
    index = np.arange(first[-1], dtype=np.int64) - first[:-1][vertex]
    quotient, remainder = np.divmod(n_atoms, n_per_vertex)
    quotient, remainder = quotient[vertex], remainder[vertex]
    lo = index * quotient + np.minimum(index, remainder)
    hi = lo + quotient + (index < remainder)
    return Slices(vertex=vertex, lo=lo, hi=hi)
