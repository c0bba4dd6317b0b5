"""The memory check (spinn.memory): estimates, budgets, the refusal and its message."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

import partitioning
import spinn as sim
from spinn import memory
from spinn.comm import LocalExchange
from spinn.errors import ResourceError, SpinnError
from spinn.estimates import BYTES_PER_SYNAPSE, network_graph
from spinn.pynn.simulator import state


@pytest.fixture
def no_rss(monkeypatch):
    """A process that uses nothing yet: budgets are exactly SPINN_MEMORY_PER_RANK x ranks."""
    monkeypatch.setattr(memory, "_current_rss", lambda: 0.0)
    monkeypatch.delenv(memory.CHECK_ENV, raising=False)


def test_sizes_parse_and_print():
    assert memory.parse_size("4G") == 4 * 2**30
    assert memory.parse_size("512M") == 512 * 2**20
    assert memory.parse_size(" 1.5 TiB ") == 1.5 * 2**40
    assert memory.parse_size("1000") == 1000
    with pytest.raises(ResourceError, match="SPINN_MEMORY_PER_RANK='lots' is not a size"):
        memory.parse_size("lots")
    assert memory.format_bytes(7e12) == "6.37 TiB"
    assert memory.format_bytes(2.5 * 2**20) == "2.50 MiB"
    assert issubclass(ResourceError, SpinnError) and issubclass(ResourceError, MemoryError)


def test_process_memory_from_the_environment(monkeypatch, no_rss):
    monkeypatch.setenv(memory.MEMORY_PER_RANK_ENV, "2G")
    budget = memory.process_memory(LocalExchange(3))
    assert budget["available"] == 6 * 2**30 and budget["per_rank"] == 2 * 2**30
    assert budget["ranks"] == (0, 1, 2) and "SPINN_MEMORY_PER_RANK=2G" in budget["origin"]
    monkeypatch.delenv(memory.MEMORY_PER_RANK_ENV)
    node = memory.process_memory(LocalExchange(2))
    assert 0 < node["available"] < float("inf")     # /proc/meminfo on Linux
    monkeypatch.setenv("MPI_LOCALNRANKS", "4")       # 4 processes share this node
    assert LocalExchange(1).node_processes() == 4
    shared = memory.process_memory(LocalExchange(1))
    assert shared["available"] == pytest.approx(node["available"] / 4, rel=0.05)
    assert "shared by its 4 processes" in shared["origin"]


def dense_network(n=5000, p=0.5, **setup):
    sim.setup(timestep=0.1, quiet=True, **setup)
    exc = sim.Population(n, sim.IF_curr_exp(), label="exc")
    inh = sim.Population(n // 4, sim.IF_curr_exp(), label="inh")
    sim.Projection(exc, exc, sim.FixedProbabilityConnector(p),
                   sim.StaticSynapse(weight=0.1, delay=1.0), label="exc→exc")
    sim.Projection(inh, exc, sim.FixedProbabilityConnector(p / 10),
                   sim.StaticSynapse(weight=-0.5, delay=1.0), label="inh→exc",
                   receptor_type="inhibitory")
    return exc, inh


def test_estimate_counts_synapses_neurons_and_ring_buffers(no_rss):
    dense_network(n_virtual_ranks=2)
    spec = state.network.freeze()
    graph = network_graph(spec)
    whole = memory._Estimate.of(spec, graph, None).network()
    syn = whole.bytes[("synapses", "Projection 'exc→exc'")]
    assert syn == pytest.approx(0.5 * 5000 * 5000 * BYTES_PER_SYNAPSE)
    assert whole.bytes[("synapses", "Projection 'inh→exc'")] == pytest.approx(
        0.05 * 1250 * 5000 * BYTES_PER_SYNAPSE)
    # neurons: the partitioner's bytes per neuron (whose ring buffer is
    # (max delay in steps + 1) x 2 receptors x 8 B) times the resident factor
    assert graph.bytes_per_atom[0] >= (10 + 1) * 2 * 8
    assert whole.bytes[("neuron state", "Population 'exc'")] == pytest.approx(
        5000 * graph.bytes_per_atom[0] * memory.NEURON_RESIDENT_FACTOR)
    sim.end()


def test_a_network_too_big_for_its_ranks_is_refused_naming_the_largest_projection(
        monkeypatch, no_rss):
    monkeypatch.setenv(memory.MEMORY_PER_RANK_ENV, "64M")
    dense_network(n_virtual_ranks=2)        # 12.5 M + 0.3 M synapses: about 175 MiB
    with pytest.raises(ResourceError) as caught:
        sim.run(1.0)
    text = str(caught.value)
    assert text.startswith("the network does not fit in memory: the whole network needs an "
                           "estimated 1")
    assert "its 2 ranks have 128.00 MiB together (64.00 MiB per rank: " \
           "SPINN_MEMORY_PER_RANK=64M)" in text
    first = text.splitlines()[1]
    assert first.startswith("  Projection 'exc→exc': 166.89 MiB of synapses (1.25e+07 "
                            "synapses x 14 B)")
    assert "it would fit on at least 3 MPI ranks of 64.00 MiB each" in text
    assert "Projection 'exc→exc' with p_connect <= 0.354 instead of 0.5" in text
    assert "SPINN_CHECK_MEMORY=0 skips this check" in text
    assert not state.simulation.built       # nothing was generated
    sim.end()


def test_the_check_can_be_switched_off(monkeypatch, no_rss):
    monkeypatch.setenv(memory.MEMORY_PER_RANK_ENV, "1K")
    dense_network(n=40, p=0.2, check_memory=False)
    sim.run(1.0)
    assert state.simulation.built
    sim.end()
    monkeypatch.setenv(memory.CHECK_ENV, "0")
    dense_network(n=40, p=0.2)
    sim.run(1.0)
    sim.end()
    monkeypatch.delenv(memory.CHECK_ENV)
    dense_network(n=40, p=0.2)
    with pytest.raises(ResourceError):
        sim.run(1.0)
    sim.end()


def test_a_long_recording_goes_to_disk_and_must_fit_there(monkeypatch, no_rss):
    monkeypatch.setenv(memory.MEMORY_PER_RANK_ENV, "256M")
    monkeypatch.setattr(memory, "disk_free", lambda path: (2.0**30, "/scratch"))
    sim.setup(timestep=0.1, quiet=True)
    cells = sim.Population(1000, sim.IF_curr_exp(), label="cells")
    cells.record("v")
    # 10^6 steps x 1000 cells x 8 B = 7.5 GiB of samples: refused before the first step
    with pytest.raises(ResourceError) as caught:
        sim.run(100_000.0)
    text = str(caught.value)
    assert re.match(r"the recording does not fit on disk: rank 0 would write an estimated "
                    r"7\.\d\d GiB in the 1,000,000 steps planned, but /scratch has 1\.00 GiB "
                    r"free", text), text
    assert re.search(r"\n  Population 'cells' v: 7\.\d\d GiB of recording\n", text)
    assert "setup(output=...)" in text
    assert sim.get_current_time() == 0.0
    sim.run(100.0)                           # a short run fits
    # with room on disk the long run fits in 256 MiB: a rank holds a bounded
    # part of its recording in memory, whatever the run's length
    simulation = state.simulation
    simulation.memory_budgets = [dict(b, disk=1e12) for b in simulation.memory_budgets]
    memory.plan_run(simulation, 10**6)
    memory.plan_run(simulation, 10**8)
    sim.end()


def test_the_recording_in_memory_is_bounded_whatever_the_run(no_rss):
    sim.setup(timestep=0.1, quiet=True)
    cells = sim.Population(1000, sim.IF_curr_exp(), label="cells")
    cells.record(["v", "spikes"])
    spec = state.network.freeze()
    graph = network_graph(spec)
    atoms, recorded = {0: 1000}, {0: {"v": 1000, "spikes": 1000}}
    short = memory._Estimate.of(spec, graph, 100).parts(atoms, recorded)
    long = memory._Estimate.of(spec, graph, 10**7).parts(atoms, recorded)
    assert 0 < short.of("recording") < memory.RECORDING_BUFFER_BYTES
    assert long.of("recording") == pytest.approx(memory.RECORDING_BUFFER_BYTES)
    on_disk = memory._Estimate.of(spec, graph, 10**7).recording_on_disk(recorded)
    assert on_disk.of("recording") > 7e10          # 10^7 samples x 1000 x 8 B
    sim.end()


def test_each_rank_against_the_memory_of_its_process(no_rss):
    """After mapping: a rank that gets more than its share is refused even if
    the total fits; every process computes every rank, so the verdict is the
    same everywhere."""
    dense_network(n=2000, p=0.5)
    spec = state.network.freeze()
    graph = network_graph(spec)
    mapping = partitioning.map_network(graph, 2, tables=False)
    fake = SimpleNamespace(spec=spec, step=0, planned_steps=None,
                           exchange=SimpleNamespace(n_ranks=2, n_processes=2))
    per_rank = [2_000_000 * BYTES_PER_SYNAPSE * 0.4] * 2   # too little for either half
    budgets = [{"available": m, "per_rank": m, "ranks": (r,), "origin": "test"}
               for r, m in enumerate(per_rank)]
    with pytest.raises(ResourceError, match=r"rank 0 needs an estimated \d+\.\d\d MiB but "
                                            r"has 10\.68 MiB \(test\)") as caught:
        memory.check_ranks(fake, graph, mapping, budgets)
    assert "Projection 'exc→exc'" in str(caught.value).splitlines()[1]
    budgets = [dict(b, available=b["available"] * 4) for b in budgets]
    memory.check_ranks(fake, graph, mapping, budgets)          # fits: no error
    memory.check_ranks(fake, graph, mapping, None)             # check off
    sim.end()


def test_an_absurd_population_is_refused_before_mapping(no_rss):
    sim.setup(timestep=0.1, quiet=True)
    sim.Population(10**11, sim.IF_curr_exp(), label="huge")
    with pytest.raises(ResourceError) as caught:
        sim.run(1.0)
    text = str(caught.value)
    assert "Population 'huge'" in text.splitlines()[1]
    assert "of neuron state" in text.splitlines()[1]
    assert "Population 'huge' of at most" in text
    sim.end()


def test_a_later_run_whose_recording_would_not_fit_is_refused(monkeypatch, no_rss):
    monkeypatch.setenv(memory.MEMORY_PER_RANK_ENV, "256M")
    monkeypatch.setattr(memory, "disk_free", lambda path: (2.0**30, "/scratch"))
    sim.setup(timestep=0.1, quiet=True)
    cells = sim.Population(1000, sim.IF_curr_exp(), label="cells")
    sim.run(10.0)                            # built without recording
    cells.record("v")
    with pytest.raises(ResourceError, match=r"Population 'cells' v: \d.\d\d GiB of recording"):
        sim.run(100_000.0)
    assert sim.get_current_time() == 10.0    # refused before any step
    sim.run(10.0)
    assert sim.get_current_time() == 20.0
    sim.end()
