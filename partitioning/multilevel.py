"""Multilevel graph bisection (Karypis & Kumar's METIS scheme, in plain Python and numpy).

The graphs are small here (one node per population piece, see
:func:`partitioning.place.place_traffic`), the algorithms the classic ones:

- **coarsen** by heavy-edge matching: visit nodes in a seeded pseudo-random
  order, match each with the unmatched neighbour of heaviest edge, contract;
  until a few dozen nodes remain or matching stops shrinking the graph;
- **initial bisection** of the coarsest graph by greedy graph growing from
  several seeds (and from the plain index-order prefix), each refined, the
  best kept;
- **uncoarsen**: project the sides back level by level and refine each with
  **Fiduccia–Mattheyses**: move the node of best gain (cut weight saved), lock
  it, repeat; keep the best prefix of the moves (least imbalance beyond the
  tolerance, then least cut). Within a pass a move may leave the balance
  window by up to one node's weight, so that two moves can swap nodes that
  are each too heavy to move alone.

Everything is deterministic: seeded permutations, ties broken by index.
"""

from __future__ import annotations

import heapq

import numpy as np

__all__ = ["WeightedGraph", "bisect"]

#: Stop coarsening below this many nodes.
_COARSEST = 24
#: Fiduccia–Mattheyses: passes per level, and moves without improvement before a pass stops.
_FM_PASSES = 8
_FM_PATIENCE = 64
#: Initial bisections of the coarsest graph refined per cycle.
_STARTS = 3


class WeightedGraph:
    """Undirected graph: node weights and a symmetric CSR adjacency without self-loops.

    Parameters
    ----------
    weight : float64[n]
    u, v, w : arrays of the edges (any order, duplicates summed, self-loops dropped)
    """

    def __init__(self, weight, u, v, w):
        self.weight = np.asarray(weight, dtype=np.float64)
        n = self.weight.shape[0]
        u, v, w = (np.asarray(x) for x in (u, v, w))
        keep = (u != v) & (w > 0)
        u, v, w = u[keep].astype(np.int64), v[keep].astype(np.int64), w[keep].astype(np.float64)
        code = np.concatenate([u * n + v, v * n + u])
        unique, inverse = np.unique(code, return_inverse=True)
        summed = np.bincount(inverse.ravel(), weights=np.concatenate([w, w]))
        self.row, self.col = np.divmod(unique, n) if n else (unique, unique)
        self.edge_weight = summed
        self.xadj = np.searchsorted(self.row, np.arange(n + 1))

    @property
    def n(self) -> int:
        return int(self.weight.shape[0])

    def neighbours(self) -> list[list[tuple[int, float]]]:
        col, wgt, xadj = self.col.tolist(), self.edge_weight.tolist(), self.xadj.tolist()
        return [list(zip(col[a:b], wgt[a:b])) for a, b in zip(xadj[:-1], xadj[1:])]

    def cut(self, side: np.ndarray) -> float:
        return float(self.edge_weight[side[self.row] != side[self.col]].sum()) / 2


def _match(graph: WeightedGraph, max_weight: float, seed: int) -> np.ndarray:
    """Heavy-edge matching; returns the coarse node of every node."""
    n = graph.n
    match = [-1] * n
    weight = graph.weight.tolist()
    adjacency = graph.neighbours()
    for u in np.random.default_rng(seed).permutation(n).tolist():
        if match[u] >= 0:
            continue
        best, best_w = u, 0.0
        for v, w in adjacency[u]:
            if match[v] < 0 and v != u and weight[u] + weight[v] <= max_weight and (
                    w > best_w or (w == best_w and v < best)):
                best, best_w = v, w
        match[u], match[best] = best, u
    match = np.array(match, dtype=np.int64)
    leader = np.minimum(np.arange(n), match)
    _, coarse = np.unique(leader, return_inverse=True)
    return coarse.ravel()


def _coarsen(graph: WeightedGraph, seed: int) -> tuple[list[WeightedGraph], list[np.ndarray]]:
    levels, maps = [graph], []
    total = graph.weight.sum()
    while levels[-1].n > _COARSEST:
        fine = levels[-1]
        # No coarse node heavier than a sixth of the graph, so a balanced bisection stays possible.
        coarse_of = _match(fine, max(total / 6, fine.weight.max()), seed + len(levels))
        n_coarse = int(coarse_of.max()) + 1 if coarse_of.size else 0
        if n_coarse > 0.95 * fine.n:
            break
        keep = fine.row < fine.col
        levels.append(WeightedGraph(np.bincount(coarse_of, weights=fine.weight, minlength=n_coarse),
                                    coarse_of[fine.row[keep]], coarse_of[fine.col[keep]],
                                    fine.edge_weight[keep]))
        maps.append(coarse_of)
    return levels, maps


class _Balance:
    """Window of allowed left-side weights around the target."""

    def __init__(self, graph: WeightedGraph, fraction: float, tolerance: float):
        total = float(graph.weight.sum())
        self.target = fraction * total
        slack = tolerance * total
        self.low, self.high = self.target - slack, self.target + slack
        # Within a pass, moves may leave the window by up to one node's weight, so
        # that a pair of moves can swap two nodes; only balanced prefixes are kept.
        self.temporary = float(graph.weight.max()) if graph.n else 0.0

    def violation(self, left: float) -> float:
        return max(0.0, self.low - left, left - self.high)


def _refine(graph: WeightedGraph, side: np.ndarray, balance: _Balance) -> np.ndarray:
    """Fiduccia–Mattheyses passes on a bisection (0 = left, 1 = right)."""
    adjacency = graph.neighbours()
    weight = graph.weight.tolist()
    side = side.astype(np.int64).tolist()
    n = graph.n
    for _ in range(_FM_PASSES):
        gain = [0.0] * n
        for u in range(n):
            for v, w in adjacency[u]:
                gain[u] += w if side[v] != side[u] else -w
        left = sum(w for w, s in zip(weight, side) if s == 0)
        heaps = ([], [])
        for u in range(n):
            heapq.heappush(heaps[side[u]], (-gain[u], u))
        locked = [False] * n
        moves, cut_change = [], 0.0
        best = (balance.violation(left), 0.0, 0)
        since_best = 0
        while since_best < _FM_PATIENCE:
            choice = None
            for s in (0, 1):
                heap = heaps[s]
                while heap and (locked[heap[0][1]] or -heap[0][0] != gain[heap[0][1]]):
                    heapq.heappop(heap)
                if not heap:
                    continue
                u = heap[0][1]
                new_left = left - weight[u] if s == 0 else left + weight[u]
                if balance.violation(new_left) > max(balance.violation(left), balance.temporary):
                    continue
                if choice is None or (gain[u], -u) > (gain[choice], -choice):
                    choice = u
            if choice is None:
                break
            u = choice
            s = side[u]
            heapq.heappop(heaps[s])
            locked[u] = True
            left += -weight[u] if s == 0 else weight[u]
            cut_change -= gain[u]
            side[u] = 1 - s
            moves.append(u)
            for v, w in adjacency[u]:
                if not locked[v]:
                    gain[v] += 2 * w if side[v] == s else -2 * w
                    heapq.heappush(heaps[side[v]], (-gain[v], v))
            key = (balance.violation(left), cut_change, len(moves))
            if key < best:
                best, since_best = key, 0
            else:
                since_best += 1
        for u in moves[best[2]:]:  # undo the moves after the best prefix
            side[u] = 1 - side[u]
        if best[2] == 0:
            break
    return np.array(side, dtype=np.int64)


def _grow(graph: WeightedGraph, seed_node: int, balance: _Balance) -> np.ndarray:
    """Greedy graph growing: add the frontier node most connected to the region."""
    adjacency = graph.neighbours()
    weight = graph.weight.tolist()
    side = [1] * graph.n
    side[seed_node] = 0
    left = weight[seed_node]
    connection = [0.0] * graph.n
    for v, w in adjacency[seed_node]:
        connection[v] += w
    while left < balance.target:
        candidates = [u for u in range(graph.n) if side[u] == 1]
        if not candidates:
            break
        u = max(candidates, key=lambda x: (connection[x], -x))
        if left + weight[u] > balance.high and left > balance.low:
            break
        side[u] = 0
        left += weight[u]
        for v, w in adjacency[u]:
            connection[v] += w
    return np.array(side, dtype=np.int64)


def _prefix(graph: WeightedGraph, balance: _Balance) -> np.ndarray:
    """Nodes in index order on the left until the target weight is reached."""
    end = np.cumsum(graph.weight)
    side = np.ones(graph.n, dtype=np.int64)
    side[(end - graph.weight / 2) < balance.target] = 0
    return side


def _multilevel(graph: WeightedGraph, fraction: float, tolerance: float, seed: int) -> np.ndarray:
    """One multilevel cycle: coarsen, bisect the coarsest graph, refine while uncoarsening."""
    levels, maps = _coarsen(graph, seed)
    coarsest = levels[-1]
    balance = _Balance(coarsest, fraction, tolerance)
    candidates = [_prefix(coarsest, balance)]
    step = max(1, coarsest.n // 8)
    candidates += [_grow(coarsest, s, balance) for s in range(seed % step, coarsest.n, step)]
    def quality(side):
        return (balance.violation(float(coarsest.weight[side == 0].sum())), coarsest.cut(side))

    # Refine the few most promising starts only.
    candidates = sorted(candidates, key=quality)[:_STARTS]
    side = min((_refine(coarsest, side, balance) for side in candidates), key=quality)
    for level in range(len(maps) - 1, -1, -1):
        side = side[maps[level]]
        side = _refine(levels[level], side, _Balance(levels[level], fraction, tolerance))
    return side


def bisect(graph: WeightedGraph, fraction: float, *, tolerance: float = 0.05,
           seed: int = 0, trials: int | None = None) -> np.ndarray:
    """Split the nodes in two, left weight near ``fraction`` of the total, small cut.

    Parameters
    ----------
    graph : WeightedGraph
    fraction : float
        Target share of the total node weight on the left (side 0).
    tolerance : float
        Allowed deviation of the left weight, as a share of the total. When
        no split is that balanced (heavy nodes), the least unbalanced wins.
    seed : int
        Seeds the matching orders; the result is a pure function of the inputs.
    trials : int, optional
        Independent multilevel cycles, the best kept (default: 4 for small
        graphs, fewer as they grow).

    Returns
    -------
    int64[n]
        0 (left) or 1 (right) for each node; neither side is empty when n >= 2.
    """
    if graph.n < 2:
        return np.zeros(graph.n, dtype=np.int64)
    if trials is None:  # a graph too small to coarsen gives the same result every cycle
        trials = 1 if graph.n <= _COARSEST else int(np.clip(2000 // graph.n, 1, 4))
    balance = _Balance(graph, fraction, tolerance)
    best, best_key = None, None
    for trial in range(trials):
        side = _multilevel(graph, fraction, tolerance, seed * 1009 + trial)
        key = (balance.violation(float(graph.weight[side == 0].sum())), graph.cut(side))
        if best_key is None or key < best_key:
            best, best_key = side, key
    side = best
    if side.min() == side.max():  # keep both sides non-empty
        side = side.copy()
        side[-1 if side[0] == 0 else 0] = 1 - side[0]
    return side
