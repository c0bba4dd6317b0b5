"""The real MPI exchange: run with `mpiexec -n 2 python -m mpi4py -m pytest --with-mpi tests/mpi`
(``pytest`` alone triggers this through tests/e2e/test_mpi_suite.py)."""
import numpy as np
import pytest

import spinn as sim
from spinn.errors import NetworkError
from tests.networks import run_mixed

pytestmark = pytest.mark.mpi(min_size=2)


def _run(npc, **setup):
    return run_mixed(sim, npc, **setup)


def test_mpi_run_matches_serial_reference_on_every_rank():
    from mpi4py import MPI
    spikes, v, conns, stats = _run(npc=16)
    assert stats["ranks"] == MPI.COMM_WORLD.Get_size()
    assert sim.num_processes() == MPI.COMM_WORLD.Get_size()
    busy = stats["busy_s_by_rank"]                   # every process's own, gathered
    assert len(busy) == stats["ranks"] and min(busy) > 0
    # the same script in this process alone, on one in-process rank
    ref_spikes, ref_v, ref_conns, _ = _run(npc=None, n_virtual_ranks=1)
    for label in ref_spikes:
        for a, b in zip(spikes[label], ref_spikes[label]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(v, ref_v)
    for label in ref_conns:
        np.testing.assert_array_equal(conns[label], ref_conns[label])
    assert sum(len(t) for t in spikes["exc"]) > 50


def test_every_rank_gets_the_same_data():
    from mpi4py import MPI
    spikes, v, conns, _ = _run(npc=32)
    flat = np.concatenate([np.concatenate(t) if t else np.zeros(0)
                           for t in spikes.values()])
    everything = MPI.COMM_WORLD.allgather((flat.tobytes(), v.tobytes()))
    assert all(x == everything[0] for x in everything)


def test_error_on_one_rank_is_raised_on_all():
    """A bad weight that only the last rank generates must not hang the others."""
    from mpi4py import MPI
    size = MPI.COMM_WORLD.Get_size()
    sim.setup(timestep=0.1, quiet=True)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 4)
    pre = sim.Population(4, sim.SpikeSourcePoisson(rate=5.0), label="pre")
    post = sim.Population(4 * size, sim.IF_curr_exp(), label="post")
    w = np.full((4, 4 * size), 0.1)
    w[:, -1] = -0.1                      # only the last target (on the last rank) is bad
    sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=w),
                   receptor_type="excitatory", label="late-bad")
    with pytest.raises(NetworkError, match="late-bad"):
        sim.run(5.0)
    sim.end()


def test_population_smaller_than_ranks():
    sim.setup(timestep=0.1, quiet=True)
    one = sim.Population(1, sim.IF_curr_exp(i_offset=1.0), label="one")
    one.record("spikes")
    sim.run(50.0)
    n = len(one.get_data().segments[0].spiketrains[0])
    sim.end()
    assert n > 0


def test_reset_with_several_recorded_populations():
    """reset() stores every recorder's segment (collective) in the same order everywhere."""
    sim.setup(timestep=0.1, quiet=True)
    pops = [sim.Population(3, sim.IF_curr_exp(i_offset=0.5 + 0.2 * i), label=f"p{i}")
            for i in range(4)]
    for p in pops:
        p.record(["spikes", "v"])
    sim.run(30.0)
    sim.reset()
    sim.run(30.0)
    for p in pops:
        block = p.get_data()
        assert len(block.segments) == 2
        for a, b in zip(block.segments[0].spiketrains, block.segments[1].spiketrains):
            np.testing.assert_array_equal(a.magnitude, b.magnitude)
    sim.end()


def test_projection_save_writes_once_and_matches_serial(tmp_path_factory):
    """Projection.save is collective; only rank 0 writes, the content equals
    the serial run's."""
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    base = comm.bcast(str(tmp_path_factory.mktemp("save")) if comm.rank == 0 else None)
    texts = []
    for setup in ({}, {"n_virtual_ranks": 1}):
        sim.setup(timestep=0.1, quiet=True, **setup)
        src = sim.Population(30, sim.SpikeSourcePoisson(rate=40.0))
        dst = sim.Population(8, sim.IF_curr_exp(v_thresh=-60.0))
        prj = sim.Projection(src, dst, sim.AllToAllConnector(), sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(), weight_dependence=sim.AdditiveWeightDependence(),
            weight=0.4, delay=0.5), receptor_type="excitatory")
        sim.run(200.0)
        path = f"{base}/weights-{len(setup)}-{comm.rank if setup else 0}.txt"
        prj.save("weight", path, format="list")
        sim.end()
        comm.Barrier()
        with open(path) as f:
            texts.append(f.read())
    assert texts[0] == texts[1]


def test_queries_answered_on_one_rank_alone():
    """len(prj) and get_min_delay() use numbers computed at build: one rank may
    ask without the others (no collective call, no hang)."""
    from mpi4py import MPI
    sim.setup(timestep=0.1, quiet=True)
    a = sim.Population(10, sim.SpikeSourcePoisson(rate=10.0))
    b = sim.Population(10, sim.IF_curr_exp())
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=0.7))
    sim.run(1.0)
    answers = (len(prj), sim.get_min_delay()) if MPI.COMM_WORLD.rank == 0 else None
    MPI.COMM_WORLD.Barrier()
    if MPI.COMM_WORLD.rank == 0:
        assert answers == (100, 0.7)
    sim.end()


def test_different_descriptions_are_named():
    """A script that builds different networks in different processes (here an
    array that depends on the rank) is refused at build, naming the object."""
    from mpi4py import MPI
    from spinn.errors import RankError
    sim.setup(timestep=0.1, quiet=True)
    sim.Population(5, sim.IF_curr_exp(), label="same")
    sim.Population(5, sim.IF_curr_exp(tau_m=np.full(5, 10.0 + MPI.COMM_WORLD.rank)),
                   label="differs")
    with pytest.raises(RankError, match="Population 'differs', field 'params'"):
        sim.run(1.0)
    sim.end()


def test_unseeded_random_values_agree_between_processes():
    from mpi4py import MPI
    sim.setup(timestep=0.1, quiet=True)
    p = sim.Population(50, sim.IF_curr_exp(tau_m=sim.RandomDistribution("uniform", (10, 20))))
    p.initialize(v=sim.RandomDistribution("normal", (-60.0, 2.0)))
    p.record("v")
    sim.run(1.0)
    v = np.asarray(p.get_data().segments[0].filter(name="v")[0].magnitude)
    tau = np.asarray(p.get("tau_m"))
    everything = MPI.COMM_WORLD.allgather((v.tobytes(), tau.tobytes()))
    assert all(x == everything[0] for x in everything)
    assert len(np.unique(tau)) == 50
    sim.end()


@pytest.mark.parametrize("delay", [0.1, 1.0])
def test_bursts_beyond_the_exchange_capacity_arrive_whole(delay):
    """A step (delay = dt) or a batch of steps (delay 1 ms: ten per exchange)
    carrying far more keys than a neighbour block holds: the overflow goes
    point to point, capacities grow alike at both ends, nothing is lost and
    the result equals one in-process rank's."""
    from spinn.comm import INITIAL_CAPACITY

    def burst(**setup):
        sim.setup(timestep=0.1, quiet=True, **setup)
        sim.set_number_of_neurons_per_core(sim.SpikeSourceArray, 50)
        n = 10 * INITIAL_CAPACITY
        times = [[1.0, 1.0 + 0.1 * (i % 7), 5.0 + 0.1 * (i % 13)] for i in range(n)]
        src = sim.Population(n, sim.SpikeSourceArray(spike_times=times), label="burst")
        post = sim.Population(6, sim.IF_curr_exp(tau_syn_E=2.0), label="post")
        sim.Projection(src, post, sim.FixedProbabilityConnector(
            0.3, rng=sim.NumpyRNG(seed=3)), sim.StaticSynapse(weight=0.02, delay=delay))
        post.record("v")
        sim.run(12.0)
        v = np.asarray(post.get_data().segments[0].filter(name="v")[0].magnitude)
        stats = sim.get_run_statistics()
        sim.end()
        return v, stats

    v, stats = burst()
    ref, _ = burst(n_virtual_ranks=1)
    np.testing.assert_array_equal(v, ref)
    assert v.max() - v.min() > 1.0            # the bursts moved the membranes
    assert stats["ranks"] >= 2
    assert stats["exchange_overflows"] > 0     # the blocks did overflow


def test_replicated_sources_under_mpi_equal_one_rank():
    """A high-rate pool generated on every process that needs it (no key of
    it exchanged) gives the one-rank routed result."""
    from tests.integration.test_replication import run
    mine = run(None, fuse=True)
    ref = run(1, fuse=False)
    assert mine["replicated"] == [2]
    for key in ("exc", "inh", "pool"):
        for a, b in zip(mine[key], ref[key]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mine["v"], ref["v"])
    np.testing.assert_array_equal(mine["after_reset"], ref["after_reset"])
    assert mine["stats"] == ref["stats"]
