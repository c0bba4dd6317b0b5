"""Compress routing tables: fewer ordered entries, the same route for every key in use.

A table entry is a *cube*: the keys ``k`` with ``(k & mask) == key`` (ternary
bits: 1/0 where the mask is 1, X where it is 0). The router takes the first
matching entry. Compression rewrites a table into fewer entries such that
every **key in use** (a key the rank emits) gets exactly the destinations it
had; keys never emitted are "don't care", which is where most of the saving
comes from (a rank only routes its own keys).

The method, for a batch of tables at once (vectorised over tables, so all
ranks of a mapping compress in one call):

1. **Cubes in use.** Each in-use key block is a cube labelled with its
   route (its set of destination ranks; routes with equal destinations share
   one label) or with "nowhere" (no entry, or an entry with no destination).
   Cubes of one table are disjoint.
2. **Exact merges** (no don't-care used): two cubes of one table and route
   with the same mask whose keys differ in one bit become one cube without
   that bit. Taking bits from low to high turns a run of consecutive slices
   into its few aligned power-of-two blocks.
3. **Order the routes** as the pair compressor does (PACMAN
   ``pair_compressor.py``): by number of cubes, fewest first, so the most
   frequent route comes last, where nothing below it can be captured and it
   usually collapses to a single entry.
4. **Expand** each cube of a route, bit by bit from low to high, turning a
   mask bit into X whenever the larger cube still intersects no in-use cube
   of a *later* route and no "nowhere" cube (cubes of earlier routes may be
   covered: their keys match earlier). This is the ordered-covering rule
   (Mundy et al., HPSR 2016) with don't-cares: the "down-check" is exact by
   construction and no "up-check" is needed because earlier entries only
   ever capture their own keys.
5. **Drop redundant cubes**: duplicates and cubes inside another cube of the
   same route.

Why it is correct: a key in use of route ``h`` lies in exactly one in-use
cube; entries of routes ordered before ``h`` avoid every cube of ``h``; some
entry of ``h`` contains the key (its cube's expansion); so the first match
routes it to ``h``. A "nowhere" key is avoided by every entry.
:func:`partitioning.checks.check_compression` proves it for a given table by
routing every key in use through both tables.
"""

from __future__ import annotations

import numpy as np

from .model import RoutingTable

__all__ = ["compress_table", "minimise_cubes", "routes_of", "tables_from_entries"]

_NOWHERE = -1
#: Pairs of cubes tested at once while expanding (memory ~ 17 bytes per pair).
_PAIR_CHUNK = 1 << 22
_ONE = np.uint32(1)


def _bit_list(word: int) -> list[int]:
    return [b for b in range(32) if (word >> b) & 1]


def _fold_or(values: np.ndarray) -> int:
    return int(np.bitwise_or.reduce(values)) if values.size else 0


def _fold_and(values: np.ndarray) -> int:
    return int(np.bitwise_and.reduce(values)) if values.size else 0


def routes_of(dest_ptr: np.ndarray, dest_rank: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Label equal destination lists with one route id.

    Returns
    -------
    label : int64[R]
        Route id of each CSR row, ``-1`` for an empty row (routes nowhere).
        Ids are numbered in order of first appearance.
    routes : list of int64 arrays
        ``routes[i]`` holds the destinations of route ``i``.
    """
    ids: dict[bytes, int] = {}
    routes: list[np.ndarray] = []
    label = np.full(dest_ptr.shape[0] - 1, _NOWHERE, dtype=np.int64)
    for row, (a, b) in enumerate(zip(dest_ptr[:-1].tolist(), dest_ptr[1:].tolist())):
        if b > a:
            dest = dest_rank[a:b]
            label[row] = ids.setdefault(dest.tobytes(), len(ids))
            if label[row] == len(routes):
                routes.append(dest)
    return label, routes


def _merge_exact(table, label, key, mask):
    """Step 2: merge pairs of cubes (same table, route, mask) whose keys differ in one bit."""
    varying = (_fold_or(key) & ~_fold_and(key)) & _fold_or(mask)
    # A dense id of (table, label), fixed while merging.
    _, group = np.unique(np.stack([table, label]), axis=1, return_inverse=True)
    group = group.ravel()
    for b in _bit_list(varying):
        bit = np.uint32(1 << b)
        candidate = np.flatnonzero(mask & bit)
        if candidate.size < 2:
            continue
        rest = key[candidate] & ~bit
        order = candidate[np.lexsort((rest, mask[candidate], group[candidate]))]
        rest = key[order] & ~bit
        same = ((group[order[1:]] == group[order[:-1]]) & (mask[order[1:]] == mask[order[:-1]])
                & (rest[1:] == rest[:-1]) & (key[order[1:]] != key[order[:-1]]))
        if not same.any():
            continue
        # Cubes are disjoint, so equal (group, mask, key without b) come in pairs at most.
        first, second = order[:-1][same], order[1:][same]
        mask[first] &= ~bit
        key[first] &= ~bit
        keep = np.ones(key.shape[0], dtype=bool)
        keep[second] = False
        table, label, key, mask, group = (table[keep], label[keep], key[keep], mask[keep],
                                          group[keep])
    return table, label, key, mask


def _route_order(table, label):
    """Step 3: position of each cube's route within its table (nowhere cubes last)."""
    on = label != _NOWHERE
    codes, inverse, counts = np.unique(np.stack([table[on], label[on]]), axis=1,
                                       return_inverse=True, return_counts=True)
    # Within a table: fewest cubes first, then lower label (deterministic).
    order = np.lexsort((codes[1], counts, codes[0]))
    group_table = codes[0][order]
    first_of_table = np.searchsorted(group_table, group_table, side="left")
    rank_in_table = np.empty(order.shape[0], dtype=np.int64)
    rank_in_table[order] = np.arange(order.shape[0]) - first_of_table
    position = np.full(table.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    position[on] = rank_in_table[inverse.ravel()]
    return position


def _expand(table, position, key, mask, on):
    """Step 4: raise mask bits of the ``on`` cubes while they meet no later cube.

    ``table``, ``position`` must be sorted (table, then position). Returns the new masks.
    """
    n = key.shape[0]
    mask = mask.copy()
    if n == 0:
        return mask
    table_end = np.searchsorted(table, table, side="right")
    # group_end[i]: the first cube of a later route (or a nowhere cube) in i's table.
    change = np.ones(n, dtype=bool)
    change[1:] = (table[1:] != table[:-1]) | (position[1:] != position[:-1])
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], n)
    group_end = np.repeat(ends, ends - starts)
    cubes = np.flatnonzero(on)
    counts = (table_end - group_end)[cubes]
    bits = _bit_list(_fold_or(mask[cubes]))
    if not bits or cubes.size == 0:
        return mask
    # Chunks of cubes with at most _PAIR_CHUNK pairs each (one big cube group is its own chunk).
    cumulative = np.cumsum(counts)
    bounds = [0]
    while bounds[-1] < cubes.size:
        limit = (cumulative[bounds[-1] - 1] if bounds[-1] else 0) + _PAIR_CHUNK
        bounds.append(max(int(np.searchsorted(cumulative, limit, side="right")), bounds[-1] + 1))
    chunks = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        c = cubes[a:b]
        n_pair = counts[a:b]
        local = np.repeat(np.arange(c.shape[0]), n_pair)
        start = np.repeat(group_end[c] - (np.cumsum(n_pair) - n_pair), n_pair)
        other = start + np.arange(local.shape[0])
        # A candidate cube (key_c, m) meets cube o iff (key_c ^ key_o) & m & mask_o == 0;
        # key_c only loses bits that m clears, so d is fixed while expanding.
        d = (key[c][local] ^ key[other]) & mask[other]
        chunks.append((c, local, d))
    for b in bits:
        bit = np.uint32(1 << b)
        for c, local, d in chunks:
            candidate = mask[c] & ~bit
            blocked = np.zeros(c.shape[0], dtype=bool)
            if d.size:
                hit = (d & candidate[local]) == 0
                blocked[local[hit]] = True
            grow = (mask[c] & bit).astype(bool) & ~blocked
            mask[c[grow]] = candidate[grow]
    return mask


def _drop_redundant(table, position, label, key, mask):
    """Step 5: drop duplicates, and cubes inside another cube of the same table and route."""
    key = key & mask
    order = np.lexsort((key, mask, position, table))
    table, position, label, key, mask = (x[order] for x in (table, position, label, key, mask))
    same = np.zeros(key.shape[0], dtype=bool)
    same[1:] = ((table[1:] == table[:-1]) & (position[1:] == position[:-1])
                & (mask[1:] == mask[:-1]) & (key[1:] == key[:-1]))
    keep = ~same
    table, position, label, key, mask = (x[keep] for x in (table, position, label, key, mask))
    n = key.shape[0]
    change = np.ones(n, dtype=bool)
    change[1:] = (table[1:] != table[:-1]) | (position[1:] != position[:-1])
    starts = np.flatnonzero(change)
    sizes = np.diff(np.append(starts, n))
    inside = np.zeros(n, dtype=bool)
    for a, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
        k, m = key[a:a + size], mask[a:a + size]
        # contained[i, j]: cube i inside cube j (j's mask a subset of i's, keys agree on it).
        contained = (((m[None, :] & ~m[:, None]) == 0)
                     & (((k[:, None] ^ k[None, :]) & m[None, :]) == 0))
        np.fill_diagonal(contained, False)
        inside[a:a + size] = contained.any(axis=1)
    keep = ~inside
    return table[keep], position[keep], label[keep], key[keep], mask[keep]


def minimise_cubes(table, label, key, mask):
    """Compress a batch of tables given as labelled in-use cubes.

    Parameters
    ----------
    table : int64[N]
        Table (rank) of each cube.
    label : int64[N]
        Route id of each cube; ``-1`` for keys that must route nowhere.
    key, mask : uint32[N]
        The cubes. Cubes of one table must be disjoint.

    Returns
    -------
    table, label : int64[M]
    key, mask : uint32[M]
        The entries of every table, sorted by table, in router order (first
        match wins). Labels are never ``-1``.
    """
    table = np.asarray(table, dtype=np.int64)
    label = np.asarray(label, dtype=np.int64)
    mask = np.asarray(mask, dtype=np.uint32).copy()
    key = np.asarray(key, dtype=np.uint32) & mask
    # Identical cubes (e.g. a key given twice) are one cube.
    if key.size:
        _, first = np.unique(np.stack([table, key.astype(np.int64), mask.astype(np.int64)]),
                             axis=1, return_index=True)
        first = np.sort(first)
        table, label, key, mask = table[first], label[first], key[first], mask[first]
    table, label, key, mask = _merge_exact(table, label, key, mask)
    position = _route_order(table, label)
    order = np.lexsort((key, position, table))
    table, label, key, mask, position = (x[order] for x in (table, label, key, mask, position))
    on = label != _NOWHERE
    mask = _expand(table, position, key, mask, on)
    table, position, label, key, mask = _drop_redundant(
        table[on], position[on], label[on], key[on], mask[on])
    return table, label, key, mask


def _subtract(key: int, mask: int, other_key: int, other_mask: int) -> list[tuple[int, int]]:
    """Cube ``(key, mask)`` minus cube ``(other_key, other_mask)``, as disjoint cubes."""
    if (key ^ other_key) & mask & other_mask:
        return [(key, mask)]
    pieces = []
    for b in _bit_list(other_mask & ~mask):
        bit = 1 << b
        pieces.append(((key & ~bit) | (~other_key & bit), mask | bit))
        key = (key & ~bit) | (other_key & bit)
        mask |= bit
    return pieces  # what is left lies inside the other cube


def _disjoint_entries(key: np.ndarray, mask: np.ndarray):
    """Each entry's keys not matched by an earlier entry, as cubes ``(entry, key, mask)``."""
    n = key.shape[0]
    entry = np.arange(n, dtype=np.int64)
    if n < 2:
        return entry, key, mask
    overlapping = []
    for a in range(0, n, 2048):
        b = min(n, a + 2048)
        meet = ((key[a:b, None] ^ key[None, :]) & mask[a:b, None] & mask[None, :]) == 0
        meet &= np.arange(a, b)[:, None] > np.arange(n)[None, :]  # earlier entries only
        overlapping.append(meet.any(axis=1))
    overlapping = np.concatenate(overlapping)
    if not overlapping.any():
        return entry, key, mask
    out_entry, out_key, out_mask = [], [], []
    for j in range(n):
        pieces = [(int(key[j]), int(mask[j]))]
        if overlapping[j]:
            for i in range(j):
                pieces = [p for k, m in pieces
                          for p in _subtract(k, m, int(key[i]), int(mask[i]))]
                if not pieces:
                    break
        out_entry += [j] * len(pieces)
        out_key += [k for k, _ in pieces]
        out_mask += [m for _, m in pieces]
    return (np.array(out_entry, dtype=np.int64), np.array(out_key, dtype=np.uint32),
            np.array(out_mask, dtype=np.uint32))


def tables_from_entries(rank_of_entry, label, key, mask, routes, ranks) -> list[RoutingTable]:
    """Assemble :class:`RoutingTable` objects from entries sorted by rank."""
    route_len = np.array([r.shape[0] for r in routes], dtype=np.int64)
    route_ptr = np.zeros(len(routes) + 1, dtype=np.int64)
    np.cumsum(route_len, out=route_ptr[1:])
    route_rank = np.concatenate(routes) if routes else np.zeros(0, dtype=np.int64)
    counts = route_len[label]
    end = np.zeros(label.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=end[1:])
    index = (np.repeat(route_ptr[label] - end[:-1], counts)
             + np.arange(end[-1], dtype=np.int64))
    dest_rank = route_rank[index]
    bounds = np.searchsorted(rank_of_entry, np.asarray(ranks, dtype=np.int64))
    bounds_end = np.searchsorted(rank_of_entry, np.asarray(ranks, dtype=np.int64), side="right")
    tables = []
    for rank, a, b in zip(list(ranks), bounds.tolist(), bounds_end.tolist()):
        tables.append(RoutingTable(rank=rank, key=key[a:b], mask=mask[a:b],
                                   dest_ptr=end[a:b + 1] - end[a],
                                   dest_rank=dest_rank[end[a]:end[b]]))
    return tables


def compress_table(table: RoutingTable, *, keys_in_use=None) -> RoutingTable:
    """Compress one routing table, keeping the route of every key in use.

    Parameters
    ----------
    table : RoutingTable
        The table to compress (entries may overlap; first match wins).
    keys_in_use : uint32 array, optional
        The keys the rank emits. Only their routes are kept; every other key
        is "don't care" and may be routed anywhere by the result. Keys that
        match no entry (or an entry with no destination) keep routing nowhere.
        Default: every key that matches some entry of ``table`` (as the
        PACMAN compressors assume: a key without an entry is never sent).

    Returns
    -------
    RoutingTable
        Entries in router order, never more than ``table`` has (``table``
        itself when no entry can be saved).

    Examples
    --------
    Four consecutive slices of 8 keys with one route, a fifth with another:
    the odd one out goes first, matched on its only distinguishing bit, and
    the others become a catch-all.

    >>> t = RoutingTable(0, key=[0, 8, 16, 24, 32], mask=[0xFFFFFFF8] * 5,
    ...                  dest_ptr=[0, 1, 2, 3, 4, 6], dest_rank=[1, 1, 1, 1, 2, 3])
    >>> c = compress_table(t)
    >>> len(c), [hex(int(m)) for m in c.mask]
    (2, ['0x20', '0x0'])
    """
    label_of_entry, routes = routes_of(table.dest_ptr, table.dest_rank)
    if keys_in_use is None:
        entry, key, mask = _disjoint_entries(table.key & table.mask, table.mask)
        label = label_of_entry[entry]
    else:
        key = np.unique(np.asarray(keys_in_use, dtype=np.uint32).ravel())
        mask = np.full(key.shape[0], 0xFFFFFFFF, dtype=np.uint32)
        entry = table.match(key)
        label = np.append(label_of_entry, _NOWHERE)[entry]  # entry -1 picks "nowhere"
    rank_of, label, key, mask = minimise_cubes(np.full(key.shape[0], table.rank, dtype=np.int64),
                                               label, key, mask)
    compressed = tables_from_entries(rank_of, label, key, mask, routes, [table.rank])[0]
    # Overlapping input entries are cut into disjoint pieces first; if that
    # leaves more entries than there were, the input is already the smaller table.
    return compressed if len(compressed) < len(table) else table
