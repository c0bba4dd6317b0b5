"""Place slices (cores) on ranks (chips)."""

from __future__ import annotations

import numpy as np

from .errors import UnfeasibleError
from .model import Graph, Placement, Slices

__all__ = ["place_slices", "place_round_robin"]


def _check_n_ranks(n_ranks) -> int:
    if isinstance(n_ranks, bool) or not isinstance(n_ranks, (int, np.integer)) or n_ranks < 1:
        raise UnfeasibleError(
            f"n_ranks is {n_ranks!r}; it must be an integer >= 1: run on at least one rank"
        )
    return int(n_ranks)


def place_slices(slices: Slices, n_ranks: int, *, graph: Graph | None = None) -> Placement:
    """Cut the ordered slices into ``n_ranks`` contiguous runs of near-equal atoms.

    Slices are taken in their order ``(vertex, lo)``, so the slices of a
    vertex sit on consecutive ranks and a rank hosts few vertices (small
    routing tables, few destination ranks per spike). Slice ``s`` goes to the
    rank whose share ``[k T / n, (k + 1) T / n)`` of the ``T`` atoms holds the
    *midpoint* of ``s`` in the cumulative atom count. Hence ranks are
    non-decreasing in ``s`` and each rank holds within one slice of ``T / n``
    atoms: ``|atoms(k) - T / n| <= max slice size``. Integer arithmetic only,
    so every process computes the same placement.

    Parameters
    ----------
    slices : Slices
    n_ranks : int
        Number of ranks, >= 1. With more ranks than slices some ranks host
        nothing (valid; they route nothing).
    graph : Graph, optional
        Accepted for traffic-aware placement later; not used yet.

    Returns
    -------
    Placement

    Raises
    ------
    UnfeasibleError
        ``n_ranks`` < 1 or not an integer.

    Examples
    --------
    >>> s = Slices(vertex=[0, 0, 0, 1], lo=[0, 4, 7, 0], hi=[4, 7, 10, 1])
    >>> place_slices(s, 2).rank.tolist()
    [0, 1, 1, 1]
    """
    n_ranks = _check_n_ranks(n_ranks)
    sizes = slices.sizes()
    end = np.cumsum(sizes)
    total = int(end[-1]) if end.shape[0] else 0
    if total == 0:
        return Placement(rank=np.zeros(slices.n_slices, dtype=np.int64), n_ranks=n_ranks)
    # floor(midpoint * n / T) with midpoint = end - size / 2, doubled to stay integral.
    rank = ((2 * end - sizes) * n_ranks) // (2 * total)
    return Placement(rank=np.clip(rank, 0, n_ranks - 1), n_ranks=n_ranks)


def place_round_robin(slices: Slices, n_ranks: int) -> Placement:
    """Baseline placement: slice ``s`` on rank ``s % n_ranks``.

    Balances slice counts but scatters every vertex over all ranks, so every
    spike fans out widely. For comparison with :func:`place_slices`.

    Raises
    ------
    UnfeasibleError
        ``n_ranks`` < 1 or not an integer.
    """
    n_ranks = _check_n_ranks(n_ranks)
    return Placement(rank=np.arange(slices.n_slices, dtype=np.int64) % n_ranks, n_ranks=n_ranks)
