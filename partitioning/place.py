"""Place slices (cores) on ranks (chips).

- :func:`place_slices`: slices in id order cut into ``n_ranks`` contiguous
  runs of near-equal atoms (the baseline; what SpiNNaker's placer does: fill
  a chip, then the next).
- :func:`place_traffic`: recursive multilevel bisection of pieces of
  populations (:mod:`partitioning.multilevel`), nodes first, that keeps
  populations exchanging many spikes on the same rank or node, within a
  load-balance limit.
- :func:`place_in_order`: the contiguous cut of slices taken in any order,
  with preferred cut points.
- :func:`place_round_robin`: scatters every population (for comparison).
"""

from __future__ import annotations

import numpy as np

from .errors import UnfeasibleError
from .model import Graph, Placement, Slices
from .multilevel import WeightedGraph, bisect
from .traffic import estimate_traffic

__all__ = ["place_slices", "place_round_robin", "place_traffic", "place_in_order"]

#: How far (in mean rank loads) a bisection may miss its target before rebalancing at
#: least cost: each is tried (the first only for large inputs), the cheapest result kept.
BISECT_SLACKS = (0.0, 0.1, 0.25)
#: Above this many slices only the first of BISECT_SLACKS is tried.
_LARGE = 50_000



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
        Not used (see :func:`place_traffic` for a traffic-aware placement).

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


def _cut(load: np.ndarray, ideal: np.ndarray, priority: np.ndarray | None,
         slack: float) -> np.ndarray:
    """Cut a run of slices with loads ``load`` at the cumulative positions ``ideal``.

    Returns ``cut[k]``: the number of slices before cut ``k`` (non-decreasing).
    Within ``± slack`` of ``ideal[k]`` the cut goes to the boundary of lowest
    ``priority`` (then the nearest); without one, the midpoint rule of
    :func:`place_slices`.
    """
    end = np.cumsum(load, dtype=np.float64)
    cut = np.searchsorted(end - load / 2, ideal, side="left")
    boundary = end[:-1]  # boundary i lies after slice i
    first = np.searchsorted(boundary, ideal - slack, side="left")
    last = np.searchsorted(boundary, ideal + slack, side="right")
    counts = np.maximum(last - first, 0)
    if counts.sum():
        k = np.repeat(np.arange(ideal.shape[0]), counts)
        i = np.repeat(first - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
        prio = np.zeros(i.shape[0], dtype=np.int64) if priority is None else priority[i]
        pick = np.lexsort((i, np.abs(boundary[i] - ideal[k]), prio, k))
        k, i = k[pick], i[pick]
        best = np.ones(k.shape[0], dtype=bool)
        best[1:] = k[1:] != k[:-1]
        cut[k[best]] = i[best] + 1
    return np.maximum.accumulate(cut) if cut.size else cut


def place_in_order(slices: Slices, n_ranks: int, order: np.ndarray | None = None, *,
                   priority: np.ndarray | None = None, max_imbalance: float = 0.05,
                   weight: np.ndarray | None = None) -> Placement:
    """Cut the slices, taken in ``order``, into ``n_ranks`` runs of near-equal weight.

    Ideal cut ``k`` lies at ``k W / n`` of the total weight ``W``. Within
    ``± max_imbalance W / (2 n)`` of it, the cut goes to the slice boundary
    of lowest ``priority`` (then the nearest): so every rank stays within
    ``max_imbalance`` of the mean whenever such a boundary exists. Without
    one, the cut goes where the midpoint rule of :func:`place_slices` puts it
    (within one slice of the mean).

    Parameters
    ----------
    slices : Slices
    n_ranks : int
    order : int64[S], optional
        A permutation of the slice ids (default: id order).
    priority : int64[S - 1], optional
        Preference for cutting between ``order[i]`` and ``order[i + 1]``,
        lower first (default: all equal).
    max_imbalance : float
        Allowed excess of a rank's weight over the mean, as a fraction.
    weight : float64[S], optional
        Load of each slice (default: its atoms).

    Returns
    -------
    Placement
    """
    n_ranks = _check_n_ranks(n_ranks)
    n_slices = slices.n_slices
    order = np.arange(n_slices, dtype=np.int64) if order is None else np.asarray(order)
    load = (slices.sizes() if weight is None else np.asarray(weight, dtype=np.float64))[order]
    total = float(load.sum())
    if total == 0 or n_ranks == 1:
        return Placement(rank=np.zeros(n_slices, dtype=np.int64), n_ranks=n_ranks)
    mean = total / n_ranks
    cut = _cut(load, np.arange(1, n_ranks) * mean, priority, max_imbalance * mean / 2)
    rank = np.empty(n_slices, dtype=np.int64)
    rank[order] = np.searchsorted(cut, np.arange(n_slices), side="right")
    return Placement(rank=rank, n_ranks=n_ranks)


class _Pieces:
    """Recursive bisection of population pieces onto ranks (see :func:`place_traffic`).

    A piece is a run ``[a, b)`` of slice ids of one vertex (slices are
    ordered by ``(vertex, lo)``). Bisections work on the graph of pieces; a
    piece is split (at a slice boundary) only to make a side's load exact.
    """

    def __init__(self, graph: Graph, slices: Slices, n_ranks: int, per_node: int,
                 max_imbalance: float, load: np.ndarray, bisect_slack: float = 0.0):
        self.n_ranks, self.per_node = n_ranks, per_node
        self.load_end = np.concatenate([[0.0], np.cumsum(load, dtype=np.float64)])
        spikes = slices.sizes() * graph.rates()[slices.vertex] * (graph.dt_ms / 1000.0)
        self.spikes_end = np.concatenate([[0.0], np.cumsum(spikes)])
        self.mean = self.load_end[-1] / n_ranks
        self.slack = max_imbalance * self.mean / 2
        # Bisections may miss the target by more: _balance then fixes it at least cost.
        self.bisect_slack = max(self.slack, bisect_slack * self.mean)
        self.rank = np.zeros(slices.n_slices, dtype=np.int64)
        self.first = np.searchsorted(slices.vertex, np.arange(graph.n_vertices + 1))
        # Vertex edges (pre, post) once each, with the largest edge weight.
        n = graph.n_vertices
        edge_weight = np.ones(graph.n_edges) if graph.edge_weight is None else graph.edge_weight
        code = graph.edges[:, 0] * n + graph.edges[:, 1]
        order = np.lexsort((-edge_weight, code))
        keep = np.ones(order.shape[0], dtype=bool)
        keep[1:] = code[order][1:] != code[order][:-1]
        self.pre, self.post = np.divmod(code[order][keep], n)
        self.edge_weight = edge_weight[order][keep]

    def load(self, a, b):
        return self.load_end[b] - self.load_end[a]

    def run(self) -> np.ndarray:
        n_vertices = self.first.shape[0] - 1
        vertex = np.arange(n_vertices, dtype=np.int64)
        nonempty = self.first[1:] > self.first[:-1]
        pieces = (vertex[nonempty], self.first[:-1][nonempty], self.first[1:][nonempty])
        self._place(pieces, self.n_ranks, 0, 0.0)
        return self.rank

    def _leaf(self, pieces, k, r0, start):
        """Cut pieces (in vertex order) into ranks r0..r0+k-1 at absolute targets."""
        vertex, a, b = pieces
        order = np.lexsort((a, vertex))
        vertex, a, b = vertex[order], a[order], b[order]
        ids = np.concatenate([np.arange(x, y) for x, y in zip(a.tolist(), b.tolist())])
        load = self.load_end[ids + 1] - self.load_end[ids]
        if k > 1:
            priority = np.ones(max(ids.shape[0] - 1, 0), dtype=np.int64)
            priority[np.cumsum(b - a)[:-1] - 1] = 0  # piece boundaries first
            ideal = (r0 + np.arange(1, k)) * self.mean - start
            cut = _cut(load, ideal, priority, self.slack)
            self.rank[ids] = r0 + np.searchsorted(cut, np.arange(ids.shape[0]), side="right")
        else:
            self.rank[ids] = r0

    def _graph(self, pieces):
        """The piece graph, and its directed edges ``(pre piece, post piece, packets/step)``."""
        vertex, a, b = pieces
        weight = self.load_end[b] - self.load_end[a]
        spikes = self.spikes_end[b] - self.spikes_end[a]
        order = np.argsort(vertex, kind="stable")
        sorted_vertex = vertex[order]
        lo = np.searchsorted(sorted_vertex, self.pre, side="left")
        hi = np.searchsorted(sorted_vertex, self.pre, side="right")
        lo2 = np.searchsorted(sorted_vertex, self.post, side="left")
        hi2 = np.searchsorted(sorted_vertex, self.post, side="right")
        us, vs, ws = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
        for e in np.flatnonzero((hi > lo) & (hi2 > lo2)).tolist():
            p = order[lo[e]:hi[e]]
            q = order[lo2[e]:hi2[e]]
            pp, qq = np.repeat(p, q.shape[0]), np.tile(q, p.shape[0])
            us.append(pp)
            vs.append(qq)
            ws.append(spikes[pp] * self.edge_weight[e])
        u, v, w = np.concatenate(us), np.concatenate(vs), np.concatenate(ws)
        return WeightedGraph(weight, u, v, w), (u, v, w)

    def _place(self, pieces, k, r0, start):
        vertex, a, b = pieces
        if k == 1 or vertex.shape[0] <= 2:
            self._leaf(pieces, k, r0, start)
            return
        unit = self.per_node if k > self.per_node else 1  # cut between whole nodes first
        k_left = (-(-k // unit) // 2) * unit
        total = float((self.load_end[b] - self.load_end[a]).sum())
        target = (r0 + k_left) * self.mean - start
        graph, directed = self._graph(pieces)
        side = bisect(graph, min(max(target / total, 0.0), 1.0),
                      tolerance=self.bisect_slack / total, seed=r0)
        (vertex, a, b), side = self._balance(directed, pieces, side, target)
        left = side == 0
        self._place((vertex[left], a[left], b[left]), k_left, r0, start)
        self._place((vertex[~left], a[~left], b[~left]), k - k_left, r0 + k_left,
                    start + float((self.load_end[b[left]] - self.load_end[a[left]]).sum()))

    def _balance(self, directed, pieces, side, target):
        """Make the left load ``target`` ± slack at least cost: move pieces, split at most one.

        Cost of moving a fraction ``f`` of piece ``p`` from the heavy side H to
        the light side L, in packets per step crossing the cut (``out``/``in``:
        traffic of p's edges to/from pieces on a side; ``own``: p to itself):
        all of it (f = 1): ``out_H - out_L + in_H - in_L``; part of it:
        ``f (out_H - out_L) + in_H + own`` (pieces of H feeding p must now
        reach both sides). Each step takes the option of least cost per unit
        of load it fixes.
        """
        vertex, a, b = pieces
        u, v, w = directed
        weight = self.load_end[b] - self.load_end[a]
        side = side.copy()
        excess = float(weight[side == 0].sum()) - target
        heavy = 0 if excess > 0 else 1
        need = abs(excess)
        n = weight.shape[0]
        own = np.bincount(u[u == v], weights=w[u == v], minlength=n)
        other = u != v
        u, v, w = u[other], v[other], w[other]
        while need > self.slack:
            on_heavy = side == heavy
            sign_out = np.where(on_heavy[v], 1.0, -1.0)
            sign_in = np.where(on_heavy[u], 1.0, -1.0)
            out_balance = np.bincount(u, weights=w * sign_out, minlength=n)
            in_balance = np.bincount(v, weights=w * sign_in, minlength=n)
            in_heavy = np.bincount(v, weights=w * on_heavy[u], minlength=n)
            n_heavy = int(on_heavy.sum())
            whole = on_heavy & (weight <= need + self.slack) & (n_heavy > 1)
            part = on_heavy & (weight > need) & (b - a >= 2)
            cost = np.full(n, np.inf)
            cost[whole] = ((out_balance + in_balance) / np.minimum(weight, need))[whole]
            split_cost = (need / np.maximum(weight, 1e-300)) * out_balance + in_heavy + own
            cost[part & ~whole] = (split_cost / need)[part & ~whole]
            if not np.isfinite(cost).any():
                break
            p = int(np.argmin(cost))
            if whole[p]:
                side[p] = 1 - heavy
                need -= weight[p]
                continue
            # Split piece p: move its last slices, of load closest to ``need``.
            tail = self.load_end[b[p]] - self.load_end[a[p] + 1:b[p]]  # load of [i, b[p])
            best = int(np.argmin(np.abs(tail - need)))
            if abs(tail[best] - need) < need:  # unless even one slice overshoots
                i = a[p] + 1 + best
                vertex = np.append(vertex, vertex[p])
                a = np.append(a, i)
                b = np.append(b, b[p])
                b[p] = i
                side = np.append(side, 1 - heavy)
            break
        return (vertex, a, b), side


def place_traffic(graph: Graph, slices: Slices, n_ranks: int, *,
                  ranks_per_node: int | None = None, max_imbalance: float = 0.05,
                  weight: np.ndarray | None = None) -> Placement:
    """Place slices to reduce the spike packets between ranks, within a balance limit.

    Recursive bisection of *pieces* of populations (runs of slices of one
    population; at first each population is one piece, the slices of a
    population being interchangeable):

    1. Split the ranks in two: whole nodes of ``ranks_per_node`` ranks while
       the part spans several nodes, then ranks, so the first (largest) cuts
       fall between nodes and heavy traffic stays inside them.
    2. Bisect the graph of pieces (node weight: load; edge weight: spikes per
       step its pre piece sends, times ``edge_weight``; a population split in
       two pieces costs what its pre populations must send to both) by
       multilevel bisection with Fiduccia–Mattheyses refinement
       (:func:`partitioning.multilevel.bisect`), aiming the left load at its
       ranks' share, within a slack.
    3. Make the left load exact (within ``max_imbalance / 2`` of a rank's
       mean load) at least cost: move whole pieces or split one piece at a
       slice boundary, whichever adds the fewest packets per unit of load.
    4. Recurse; a part of one rank, or of at most two pieces, is cut in
       population order like :func:`place_in_order`.

    Targets are absolute positions (rank ``r`` ends at ``(r + 1)`` mean
    loads), so errors never add up: each rank is within ``max_imbalance`` of
    the mean load where slice boundaries allow, and within one slice always.
    This runs for each bisection slack of :data:`BISECT_SLACKS` (0, 0.1 and
    0.25 mean rank loads; only 0 above 50,000 slices) and the cheapest
    result, or :func:`place_slices` if none is cheaper, is kept, by
    :meth:`Traffic.cost` (packets leaving a rank, counted twice if they
    leave the node). Deterministic: the same input gives the same placement
    on every process, never costlier than :func:`place_slices`.

    Parameters
    ----------
    graph : Graph
    slices : Slices
    n_ranks : int
    ranks_per_node : int, optional
        Consecutive ranks sharing a node (default: all on one node).
    max_imbalance : float
        Allowed excess of any rank's load over the mean (0.05: 5 %).
    weight : float64[S], optional
        Load of each slice (default: its atoms).

    Returns
    -------
    Placement

    Raises
    ------
    UnfeasibleError
        ``n_ranks`` < 1, or ``ranks_per_node`` < 1.
    """
    n_ranks = _check_n_ranks(n_ranks)
    if ranks_per_node is not None and int(ranks_per_node) < 1:
        raise UnfeasibleError(f"ranks_per_node is {ranks_per_node}; it must be >= 1")
    per_node = min(int(ranks_per_node or n_ranks), n_ranks)
    load = (slices.sizes().astype(np.float64) if weight is None
            else np.asarray(weight, dtype=np.float64))
    base = (place_slices(slices, n_ranks) if weight is None
            else place_in_order(slices, n_ranks, max_imbalance=0.0, weight=load))
    if n_ranks == 1 or slices.n_slices < 2 or graph.n_edges == 0 or load.sum() == 0:
        return base
    # The guarantee: within max_imbalance, or within one slice where slices are too coarse.
    limit = max(1 + max_imbalance, 1 + load.max() * n_ranks / load.sum(), _imbalance(load, base))
    best, best_cost = base, estimate_traffic(graph, slices, base, ranks_per_node=per_node).cost()
    slacks = BISECT_SLACKS[:1] if slices.n_slices > _LARGE else BISECT_SLACKS
    for slack in slacks:
        candidate = Placement(_Pieces(graph, slices, n_ranks, per_node, max_imbalance, load,
                                      slack).run(), n_ranks)
        if _imbalance(load, candidate) > limit + 1e-9:
            continue
        cost = estimate_traffic(graph, slices, candidate, ranks_per_node=per_node).cost()
        if cost < best_cost * (1 - 1e-9):
            best, best_cost = candidate, cost
    return best


def _imbalance(load: np.ndarray, placement: Placement) -> float:
    per_rank = np.bincount(placement.rank, weights=load, minlength=placement.n_ranks)
    mean = per_rank.sum() / placement.n_ranks
    return float(per_rank.max() / mean) if mean > 0 else 1.0
