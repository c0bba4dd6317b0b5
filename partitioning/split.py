"""Cut vertices into slices (cores)."""

from __future__ import annotations

import numpy as np

from .model import Graph, Slices

__all__ = ["split_vertices"]


def split_vertices(graph: Graph) -> Slices:
    """Cut every vertex into the fewest slices that fit a core, of near-equal size.

    Vertex ``v`` becomes ``k = ceil(n_atoms[v] / max_atoms_per_core[v])``
    slices. With ``q, r = divmod(n_atoms[v], k)`` the *first* ``r`` slices
    hold ``q + 1`` atoms and the others ``q`` (larger slices first), so sizes
    differ by at most one and never exceed ``max_atoms_per_core[v]``.

    Parameters
    ----------
    graph : Graph

    Returns
    -------
    Slices
        Ordered by ``(vertex, lo)``; ``lo``/``hi`` count atoms within the
        vertex (half-open).

    Examples
    --------
    >>> import numpy as np
    >>> g = Graph(np.array([10, 1]), np.array([4, 4]), np.zeros((0, 2)), ("a", "b"))
    >>> s = split_vertices(g)
    >>> s.vertex.tolist(), s.lo.tolist(), s.hi.tolist()
    ([0, 0, 0, 1], [0, 4, 7, 0], [4, 7, 10, 1])
    """
    n_atoms = graph.n_atoms
    n_per_vertex = -(-n_atoms // graph.max_atoms_per_core)  # ceil division
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
