"""Sources replicated on every rank that needs them (spinn.fusion): a high-rate
pool with ordinary connectors is generated where its synapses are, its keys
never routed; results are exactly the routed path's on any rank count,
through changes between runs and reset()."""
import numpy as np
import pytest

import spinn as sim
from spinn.fusion import replicated_populations
from spinn.pynn.simulator import state

RD = sim.RandomDistribution


def run(n_ranks, fuse, npc=16):
    """``n_ranks`` None: as many ranks as MPI processes (tests/mpi)."""
    extra = {} if n_ranks is None else {"n_virtual_ranks": n_ranks}
    sim.setup(timestep=0.1, quiet=True, fuse_sources=fuse, **extra)
    for model in (sim.IF_curr_exp, sim.SpikeSourcePoisson):
        sim.set_number_of_neurons_per_core(model, npc)
    exc = sim.Population(40, sim.IF_curr_exp(tau_m=RD("uniform", (15.0, 25.0))), label="exc")
    inh = sim.Population(20, sim.IF_curr_exp(), label="inh")
    pool = sim.Population(50, sim.SpikeSourcePoisson(rate=RD("uniform", (8000.0, 12000.0))),
                          label="pool")                    # about a spike per step each
    slow = sim.Population(10, sim.SpikeSourcePoisson(rate=20.0), label="slow")
    pool_exc = sim.Projection(pool, exc, sim.FixedProbabilityConnector(0.3),
                              sim.StaticSynapse(weight=RD("uniform", (0.01, 0.03)), delay=1.0),
                              label="pool-exc")
    sim.Projection(pool, inh, sim.FixedNumberPreConnector(5),
                   sim.StaticSynapse(weight=0.02, delay=RD("uniform", (0.5, 2.0))),
                   label="pool-inh")
    sim.Projection(slow, exc, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5))
    sim.Projection(exc, inh, sim.FixedProbabilityConnector(0.2),
                   sim.StaticSynapse(weight=0.3, delay=1.0))
    sim.Projection(inh, exc, sim.FixedProbabilityConnector(0.2),
                   sim.StaticSynapse(weight=-0.5, delay=1.0), receptor_type="inhibitory")
    for pop in (exc, inh):
        pop.record(["spikes", "v"])
    pool[:10].record("spikes")
    sim.run(25.0)
    pool.set(rate=6000.0)                       # changes between runs reach the replicas
    pool_exc.set(weight=0.015)
    sim.run(25.0)
    # decided at the first build, kept through the changes
    out = {"replicated": list(state.simulation.images[0].replicated_populations)}
    for pop in (exc, inh, pool):
        seg = pop.get_data("spikes").segments[0]
        out[pop.label] = [np.asarray(t.magnitude) for t in seg.spiketrains]
    out["v"] = np.concatenate([np.asarray(p.get_data().segments[0].filter(name="v")[0]
                                          .magnitude) for p in (exc, inh)], axis=1)
    stats = sim.get_run_statistics()
    out["stats"] = (stats["spikes"], stats["neuron_spikes"], stats["synapses"])
    out["keys_received"] = stats["keys_received"]
    sim.reset()
    sim.run(15.0)
    out["after_reset"] = np.asarray(exc.get_data().segments[1].filter(name="v")[0].magnitude)
    sim.end()
    return out


@pytest.fixture(scope="module")
def routed():
    return run(1, fuse=False)


@pytest.mark.parametrize("n_ranks,npc", [(1, 16), (3, 16), (2, 7)])
def test_replicated_equals_routed(routed, n_ranks, npc):
    replicated = run(n_ranks, fuse=True, npc=npc)
    assert routed["replicated"] == [] and replicated["replicated"] == [2]   # the pool only
    for key in ("exc", "inh", "pool"):
        assert len(replicated[key]) == len(routed[key])
        for a, b in zip(replicated[key], routed[key]):
            np.testing.assert_array_equal(a, b)
    for key in ("v", "after_reset"):
        np.testing.assert_array_equal(replicated[key], routed[key])
    assert replicated["stats"] == routed["stats"]      # the pool's spikes counted once
    assert sum(len(t) for t in replicated["exc"]) > 20
    assert sum(len(t) for t in replicated["pool"]) > 10 * 40   # recorded where it lives
    # the pool's ~20,000 keys (of the routed run's 21,000 on one rank) were never sent
    assert replicated["keys_received"] < routed["keys_received"] / 4


def test_the_rule_replicates_only_sources_worth_it():
    sim.setup(timestep=0.1, quiet=True)
    cells = sim.Population(10, sim.IF_curr_exp())
    fast = sim.Population(10, sim.SpikeSourcePoisson(rate=20_000.0))
    slow = sim.Population(10, sim.SpikeSourcePoisson(rate=50.0))
    one = sim.Population(10, sim.SpikeSourcePoisson(rate=20_000.0))
    plastic = sim.Population(10, sim.SpikeSourcePoisson(rate=20_000.0))
    for src in (fast, slow):
        sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01))
    sim.Projection(one, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.01))
    sim.Projection(plastic, cells, sim.AllToAllConnector(), sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(), weight_dependence=sim.AdditiveWeightDependence(),
        weight=0.01))
    sim.run(1.0)
    # fast: replicated; slow: cheaper to route; one: fused instead; plastic: routed
    assert replicated_populations(state.simulation.spec) == {1}          # `fast`
    sim.end()
