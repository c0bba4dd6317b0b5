"""Routing-table compression and its checker.

Every compressed table is compared with the original by brute force (every
key of a small key space routed through both, entry by entry in Python) or by
:func:`check_compression`, and the checker must fail on corrupted tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from partitioning import (
    Graph, PartitioningError, RoutingTable, allocate_keys, build_compressed_tables,
    build_tables, check_compression, check_tables, compress_table, count_entries, map_network,
    place_round_robin, place_slices, split_vertices,
)
from partitioning.synthetic import layered_graph

FIXTURE = Path(__file__).parent / "fixtures" / "routing_table_layered16_rank6.npz"
KEY_SPACE = 1 << 12


def random_table(seed: int, rank: int = 3) -> RoutingTable:
    """Entries of mixed masks (overlapping, some without destination) over 12-bit keys."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 30))
    masks = np.array([0xFFFFFFFF, 0xFFFFFFF0, 0xFFFFFF00, 0xFFFF0F0F, 0xFFFFFFFC, 0],
                     dtype=np.uint32)
    mask = masks[rng.integers(0, masks.size, n)]
    key = rng.integers(0, KEY_SPACE, n).astype(np.uint32) & mask
    counts = rng.integers(0, 3, n)
    dest = [np.sort(rng.choice(4, c, replace=False)) for c in counts] + [np.zeros(0)]
    return RoutingTable(rank, key, mask, np.concatenate([[0], np.cumsum(counts)]),
                        np.concatenate(dest).astype(np.int64))


def brute_route(table: RoutingTable, key: int) -> list[int]:
    """First matching entry, by a plain scan."""
    for e in range(len(table)):
        if key & int(table.mask[e]) == int(table.key[e]):
            return table.dest_rank[table.dest_ptr[e]:table.dest_ptr[e + 1]].tolist()
    return []


def random_graph(seed: int) -> Graph:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 31))
    max_per_core = np.where(rng.random(n) < 0.2, rng.integers(1, 4, n), rng.integers(1, 600, n))
    edges = rng.integers(0, n, (int(rng.integers(1, 3 * n + 1)), 2))
    return Graph(rng.integers(1, 2001, n), max_per_core, edges, tuple(f"p{v}" for v in range(n)))


def local_key_ranges(slices, placement, keys, rank):
    local = placement.slices_on(rank)
    start = keys.base[local].astype(np.int64)
    return start, start + slices.sizes()[local]


# --------------------------------------------------------------------------- compress_table


@pytest.mark.parametrize("seed", range(40))
def test_compressed_routes_every_key_in_use_like_the_original(seed):
    table = random_table(seed)
    compressed = compress_table(table)
    assert compressed.rank == table.rank
    assert len(compressed) <= len(table)
    everything = np.arange(KEY_SPACE, dtype=np.uint32)
    in_use = everything[table.match(everything) >= 0]
    check_compression(table, compressed, in_use)
    for key in in_use[::7].tolist():  # brute force on a sample, independent of route()
        assert brute_route(compressed, key) == brute_route(table, key)


@pytest.mark.parametrize("seed", range(20))
def test_keys_in_use_are_kept_and_the_rest_is_dont_care(seed):
    table = random_table(seed)
    rng = np.random.default_rng(1000 + seed)
    in_use = rng.integers(0, KEY_SPACE, 60).astype(np.uint32)
    compressed = compress_table(table, keys_in_use=in_use)
    check_compression(table, compressed, in_use)
    for key in in_use.tolist():
        assert brute_route(compressed, key) == brute_route(table, key)
    # No entry ever has an empty route: "nowhere" is expressed by matching nothing.
    assert np.all(np.diff(compressed.dest_ptr) > 0)


def test_one_route_becomes_one_catch_all_entry():
    table = RoutingTable(5, key=np.arange(8, dtype=np.uint32) << 4, mask=[0xFFFFFFF0] * 8,
                         dest_ptr=np.arange(9) * 2, dest_rank=np.tile([1, 4], 8))
    compressed = compress_table(table)
    assert len(compressed) == 1 and int(compressed.mask[0]) == 0
    assert_array_equal(compressed.dest_rank, [1, 4])


def test_a_key_routed_nowhere_is_never_captured():
    # Slice 1 (keys 16..31) has no targets; slices 0 and 2 share a route.
    table = RoutingTable(0, key=[0, 32], mask=[0xFFFFFFF0] * 2, dest_ptr=[0, 1, 2],
                         dest_rank=[3, 3])
    in_use = np.arange(48, dtype=np.uint32)
    compressed = compress_table(table, keys_in_use=in_use)
    check_compression(table, compressed, in_use)
    assert compressed.route(np.array([16, 31], dtype=np.uint32))[1].size == 0
    assert len(compressed) <= 2


def test_order_is_used_first_match_wins():
    # A specific entry shadows part of a general one with another route.
    table = RoutingTable(0, key=[0x10, 0x00], mask=[0xFFFFFFF0, 0xFFFFFF00],
                         dest_ptr=[0, 1, 2], dest_rank=[7, 8])
    compressed = compress_table(table)
    keys = np.arange(256, dtype=np.uint32)
    check_compression(table, compressed, keys)
    assert brute_route(compressed, 0x15) == [7] and brute_route(compressed, 0x25) == [8]


# --------------------------------------------------------------------------- the checker fails


def test_check_compression_fails_on_a_changed_route():
    table = random_table(3)
    while len(table) == 0:  # pragma: no cover - seed 3 has entries
        table = random_table(4)
    compressed = compress_table(table)
    everything = np.arange(KEY_SPACE, dtype=np.uint32)
    in_use = everything[table.match(everything) >= 0]
    bad = RoutingTable(compressed.rank, compressed.key, compressed.mask, compressed.dest_ptr,
                       (compressed.dest_rank + 1) % 9)
    with pytest.raises(PartitioningError, match="sends key 0x.* but the original table sends"):
        check_compression(table, bad, in_use)


def test_check_compression_fails_when_a_catch_all_captures_a_key_routed_nowhere():
    table = RoutingTable(2, key=[0], mask=[0xFFFFFFF0], dest_ptr=[0, 1], dest_rank=[1])
    catch_all = RoutingTable(2, key=[0], mask=[0], dest_ptr=[0, 1], dest_rank=[1])
    check_compression(table, catch_all, np.arange(16, dtype=np.uint32))  # only slice 0 in use
    with pytest.raises(PartitioningError, match=r"key 0x00000010 .* to ranks \[1\].*sends it to \[\]"):
        check_compression(table, catch_all, (np.array([0]), np.array([17])))
    with pytest.raises(PartitioningError, match="replaces the table of rank 2"):
        check_compression(table, RoutingTable(3, [0], [0], [0, 1], [1]), np.zeros(1))


def test_check_compression_sees_a_difference_on_one_offset_key():
    # The compressed table looks at bit 0: the checker must route every key, not one per block.
    table = RoutingTable(0, key=[0], mask=[0xFFFFFF00], dest_ptr=[0, 1], dest_rank=[2])
    wrong = RoutingTable(0, key=[0x41, 0], mask=[0xFFFFFFFF, 0xFFFFFF00], dest_ptr=[0, 1, 2],
                         dest_rank=[3, 2])
    check_compression(table, wrong, (np.array([0]), np.array([0x41])))
    with pytest.raises(PartitioningError, match="0x00000041"):
        check_compression(table, wrong, (np.array([0]), np.array([0x100])))


# --------------------------------------------------------------------------- whole mappings


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("placer", ["contiguous", "round_robin"])
def test_compressed_tables_equal_the_uncompressed_ones_on_every_rank(seed, placer):
    graph = random_graph(seed)
    n_ranks = int(np.random.default_rng(100 + seed).integers(1, 9))
    slices = split_vertices(graph)
    placement = (place_slices if placer == "contiguous" else place_round_robin)(slices, n_ranks)
    keys = allocate_keys(slices)
    full = build_tables(graph, slices, placement, keys)
    compressed = build_compressed_tables(graph, slices, placement, keys)
    check_tables(graph, slices, placement, keys, compressed)
    for rank in range(n_ranks):
        in_use = local_key_ranges(slices, placement, keys, rank)
        check_compression(full[rank], compressed[rank], in_use)
        assert len(compressed[rank]) <= len(full[rank])
        one = compress_table(full[rank], keys_in_use=np.concatenate(
            [np.arange(a, b, dtype=np.uint32) for a, b in zip(*in_use)] + [np.zeros(0, np.uint32)]))
        check_compression(full[rank], one, in_use)
    assert_array_equal(count_entries(graph, slices, placement), [len(t) for t in full])
    some = build_compressed_tables(graph, slices, placement, keys, ranks=[n_ranks - 1])
    assert_array_equal(some[0].key, compressed[-1].key)


def test_map_network_uses_compressed_tables_and_reports_both_sizes():
    graph = layered_graph()
    mapping = map_network(graph, 8, placement="contiguous")
    report = mapping.report()
    assert report["entries_before"] == sum(report["entries_before_per_rank"]) == 168
    assert report["entries_after"] == sum(len(t) for t in mapping.tables)
    assert report["entries_after"] <= 40  # 168 entries before: about 5 routes per rank
    full = build_tables(graph, mapping.slices, mapping.placement, mapping.keys)
    for rank in range(8):
        check_compression(full[rank], mapping.tables[rank],
                          local_key_ranges(mapping.slices, mapping.placement, mapping.keys, rank))


def test_fixture_table_from_a_16_population_layered_network():
    data = np.load(FIXTURE)
    table = RoutingTable(int(data["rank"]), data["key"], data["mask"], data["dest_ptr"],
                         data["dest_rank"])
    in_use = (data["in_use_start"], data["in_use_stop"])
    assert len(table) == 23
    compressed = compress_table(table, keys_in_use=np.concatenate(
        [np.arange(a, b, dtype=np.uint32) for a, b in zip(*in_use)]))
    check_compression(table, compressed, in_use)
    assert len(compressed) <= int(data["compressed_entries"])  # 8 when the fixture was made
    # Default "in use" (every key with an entry) also compresses, less.
    default = compress_table(table)
    check_compression(table, default, (data["key"].astype(np.int64),
                                       data["key"].astype(np.int64) + 256))
    assert len(compressed) <= len(default) < len(table)
