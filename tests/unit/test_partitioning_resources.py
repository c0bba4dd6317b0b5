"""Resource estimates, memory budgets, the mapping report, and spinn.estimates."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from partitioning import (
    Graph, UnfeasibleError, atoms_per_core, check_slices, map_network, report_text,
    split_vertices,
)
from partitioning.synthetic import layered_graph
from spinn.estimates import expected_synapses, network_graph
from spinn import connectors as native
from spinn.network import GidRange, NetworkSpec, PopulationSpec, ProjectionSpec


def two_populations(**extra) -> Graph:
    # 1000 -> 500 with 100 synapses per post neuron, plus a recurrent 500 -> 500 edge.
    return Graph([1000, 500], [256, 256], [[0, 1], [1, 1]], ("exc", "inh"),
                 synapses=[50_000.0, 25_000.0], bytes_per_atom=[100.0, 100.0], **extra)


def test_graph_estimates_and_defaults():
    graph = two_populations(rate_hz=[5.0, 20.0], dt_ms=1.0)
    assert_allclose(graph.incoming_synapses(), [0, 75_000])
    assert_allclose(graph.memory_per_atom(), [100, 100 + 16 * 150])
    assert_allclose(graph.spikes_per_step(), [1000 * 5 / 1000, 500 * 20 / 1000])
    plain = Graph([10], [4], np.zeros((0, 2)), ("a",))
    assert_allclose(plain.rates(), [10.0])
    assert_allclose(plain.memory_per_atom(), [0.0])
    with pytest.raises(UnfeasibleError, match=r"vertex 1 \('inh'\) has rate \(Hz\) -1.0"):
        two_populations(rate_hz=[1.0, -1.0])
    with pytest.raises(UnfeasibleError, match="one value per edge"):
        Graph([10], [4], [[0, 0]], ("a",), synapses=[1.0, 2.0])
    with pytest.raises(UnfeasibleError, match="dt_ms is 0.0"):
        Graph([10], [4], [[0, 0]], ("a",), dt_ms=0)


def test_split_respects_a_memory_budget_per_core():
    graph = two_populations()
    # inh needs 2500 B per neuron: 100 fit in 250 kB; exc (100 B) keeps max_atoms_per_core.
    assert_array_equal(atoms_per_core(graph, bytes_per_core=250_000), [256, 100])
    slices = split_vertices(graph, bytes_per_core=250_000)
    check_slices(graph, slices)
    sizes = slices.sizes()
    assert sizes[slices.vertex == 1].max() <= 100 and (slices.vertex == 1).sum() == 5
    memory = sizes * graph.memory_per_atom()[slices.vertex]
    assert memory.max() <= 250_000


def test_a_neuron_that_cannot_fit_a_core_names_population_need_budget_and_fix():
    with pytest.raises(UnfeasibleError, match=r"'inh' \(vertex 1\) cannot fit one neuron on a "
                                              r"core: a neuron needs 2\.4 KiB .*150 incoming "
                                              r"synapses x 16 B.*budget per core is 1\.0 KiB"
                                              r".*Raise the memory per core"):
        split_vertices(two_populations(), bytes_per_core=1024)


def test_memory_budget_per_rank():
    graph = two_populations()  # 1000 x 100 B + 500 x 2500 B = 1.35 MB
    with pytest.raises(UnfeasibleError, match=r"needs 1\.29 MiB .* run on at least 3 ranks"):
        map_network(graph, 2, bytes_per_rank=600_000)
    mapping = map_network(graph, 4, bytes_per_rank=600_000)  # inh slices cut to fit a rank
    assert max(mapping.report()["memory_bytes_per_rank"]) <= 600_000
    assert mapping.slices.sizes()[mapping.slices.vertex == 1].max() <= 240
    # Enough in total (3 x 455 kB), but three inh slices of 417 kB leave no room for exc.
    with pytest.raises(UnfeasibleError, match=r"rank \d+ needs 0\.\d\d MiB for its slices of "
                                              r".*budget per rank is 0\.43 MiB"):
        map_network(graph, 3, bytes_per_rank=455_000)


def test_report_content_and_text():
    graph = layered_graph()
    mapping = map_network(graph, 6, ranks_per_node=2)
    report = mapping.report()
    json.dumps(report)  # serialisable
    n = report["n_ranks"]
    assert n == 6 and report["n_nodes"] == 3 and report["ranks_per_node"] == 2
    for key in ("atoms_per_rank", "slices_per_rank", "vertices_per_rank", "synapses_per_rank",
                "memory_bytes_per_rank", "sent_within_node_per_rank",
                "sent_across_nodes_per_rank", "received_within_node_per_rank",
                "received_across_nodes_per_rank", "entries_before_per_rank",
                "entries_per_rank", "synaptic_events_per_step_per_rank"):
        assert len(report[key]) == n, key
    assert sum(report["atoms_per_rank"]) == int(graph.n_atoms.sum())
    assert sum(report["synapses_per_rank"]) == pytest.approx(graph.synapses.sum(), rel=1e-6)
    sent = sum(report["sent_within_node_per_rank"]) + sum(report["sent_across_nodes_per_rank"])
    received = (sum(report["received_within_node_per_rank"])
                + sum(report["received_across_nodes_per_rank"]))
    assert sent == pytest.approx(received) == pytest.approx(report["packets_per_step"])
    assert set(report["timing_s"]) == {"split", "place", "keys", "tables", "check"}
    text = report_text(report)
    assert "6 ranks on 3 node(s) of 2 ranks" in text
    assert "routing entries: 168 before compression" in text
    assert len(text.splitlines()) == 6 + 1 + 6 + 2  # totals, header, one row per rank, timing
    rows = [line.split()[0] for line in report_text(report, max_rows=4).splitlines()[6:10]]
    assert rows == ["rank", "min", "mean", "max"]


def test_digest_ignores_timing_and_sees_estimates():
    graph = layered_graph()
    a, b = map_network(graph, 4), map_network(graph, 4)
    assert a.digest() == b.digest()
    other = Graph(graph.n_atoms, graph.max_atoms_per_core, graph.edges, graph.labels,
                  synapses=graph.synapses, rate_hz=graph.rate_hz * 2,
                  bytes_per_atom=graph.bytes_per_atom)
    assert map_network(other, 4, placement="contiguous").digest() != map_network(
        graph, 4, placement="contiguous").digest()


# --------------------------------------------------------------------------- spinn.estimates


def spec_with(connectors, sizes=(1000, 400, 30), models=("IF_curr_exp", "IF_curr_exp",
                                                         "SpikeSourcePoisson")) -> NetworkSpec:
    populations, projections = [], []
    first = 0
    for i, (size, model) in enumerate(zip(sizes, models)):
        params = {"rate": 50.0} if model == "SpikeSourcePoisson" else {}
        populations.append(PopulationSpec(i, f"p{i}", size, model, first, params, {}))
        first += size

    def gids(pops):
        if len(pops) == 1:
            return GidRange(populations[pops[0]].first_gid, populations[pops[0]].size)
        return np.concatenate([np.arange(populations[p].first_gid,
                                         populations[p].first_gid + populations[p].size)
                               for p in pops])
    for j, (pre, post, connector) in enumerate(connectors):
        projections.append(ProjectionSpec(j, f"prj{j}", gids(pre), gids(post), tuple(pre),
                                          tuple(post), connector, 1, 0.1, 1.5, 0))
    return NetworkSpec(dt_ms=0.1, seed=1, populations=populations, projections=projections)


@pytest.mark.parametrize("connector, expected", [
    (native.AllToAll(), 1000 * 400),
    (native.OneToOne(), 400),
    (native.FixedProbability(p_connect=0.02), 0.02 * 1000 * 400),
    (native.FixedNumberPre(n=7), 7 * 400),
    (native.FromList.make(np.zeros(123), np.zeros(123)), 123),
])
def test_expected_synapses_by_connector(connector, expected):
    spec = spec_with([((0,), (1,), connector)])
    assert expected_synapses(spec.projections[0]) == pytest.approx(expected)
    graph = network_graph(spec)
    assert_array_equal(graph.edges, [[0, 1]])
    assert_allclose(graph.synapses, [expected])


def test_expected_synapses_without_self_connections():
    spec = spec_with([((0,), (0,), native.AllToAll(allow_self_connections=False)),
                      ((0,), (0,), native.FixedProbability(allow_self_connections=False,
                                                           p_connect=0.5))])
    assert expected_synapses(spec.projections[0]) == 1000 * 999
    assert expected_synapses(spec.projections[1]) == pytest.approx(0.5 * 1000 * 999)


def test_network_graph_spreads_assemblies_and_estimates_memory_and_rates():
    spec = spec_with([((0, 1), (0, 1), native.FixedProbability(p_connect=0.1)),
                      ((2,), (0,), native.AllToAll())])
    graph = network_graph(spec, rate_hz=3.0)
    assert_array_equal(graph.edges, [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0]])
    total = 0.1 * 1400 * 1400
    assert_allclose(graph.synapses[:4], total * np.array([1000 * 1000, 1000 * 400, 400 * 1000,
                                                          400 * 400]) / 1400**2)
    assert_allclose(graph.rates(), [3.0, 3.0, 50.0])  # the source's own rate
    assert graph.dt_ms == 0.1
    # Ring buffer of 1.5 ms / 0.1 ms + 1 = 16 slots x 2 receptors x 8 B is in every LIF neuron.
    assert np.all(graph.bytes_per_atom[:2] >= 16 * 2 * 8)
    assert graph.memory_per_atom()[0] > graph.bytes_per_atom[0]  # synapses counted
    mapping = map_network(graph, 3)
    assert sum(mapping.report()["synapses_per_rank"]) == pytest.approx(graph.synapses.sum())
