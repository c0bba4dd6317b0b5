"""Sources fused into their one-to-one targets give exactly the results of the
routed path, on any rank count, through changes between runs and reset()."""
import numpy as np
import pytest

import spinn as sim
from spinn.fusion import fused_projections
from spinn.pynn.simulator import state

RD = sim.RandomDistribution


def run(n_ranks, fuse, npc=7):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks, fuse_sources=fuse)
    for model in (sim.IF_curr_exp, sim.SpikeSourcePoisson, sim.SpikeSourceArray,
                  sim.SpikeSourceGamma, sim.SpikeSourcePoissonRefractory):
        sim.set_number_of_neurons_per_core(model, npc)
    cells = sim.Population(30, sim.IF_curr_exp(tau_m=RD("uniform", (15.0, 25.0))),
                           label="cells")
    drive = sim.Population(30, sim.SpikeSourcePoisson(rate=RD("uniform", (2000.0, 6000.0))),
                           label="drive")                  # several spikes per step
    times = sim.Population(30, sim.SpikeSourceArray(
        spike_times=[[1.0 + i, 2.0 + i, 2.0 + i] for i in range(30)]), label="times")
    gamma = sim.Population(30, sim.SpikeSourceGamma(alpha=2.0, beta=400.0), label="gamma")
    dead = sim.Population(30, sim.SpikeSourcePoissonRefractory(rate=300.0, tau_refrac=2.0),
                          label="dead")
    shared = sim.Population(5, sim.SpikeSourcePoisson(rate=200.0), label="shared")
    drive_prj = sim.Projection(drive, cells, sim.OneToOneConnector(), sim.StaticSynapse(
        weight=RD("uniform", (0.05, 0.15)), delay=RD("uniform", (0.1, 2.0))), label="drive")
    sim.Projection(times, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.3, delay=1.0), label="times")
    sim.Projection(gamma, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=-0.2, delay=1.0), receptor_type="inhibitory")
    sim.Projection(dead, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.1, delay=0.5), label="dead")
    sim.Projection(shared, cells, sim.AllToAllConnector(),      # not one-to-one: routed
                   sim.StaticSynapse(weight=0.05, delay=1.0), label="shared")
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.2),
                   sim.StaticSynapse(weight=0.2, delay=1.0), label="recurrent")
    cells.record(["spikes", "v"])
    drive.record("spikes")
    times[::2].record("spikes")
    sim.run(30.0)
    drive.set(rate=1500.0)
    drive_prj.set(weight=RD("uniform", (0.1, 0.2)))
    sim.run(30.0)
    out = {"fused": sorted(fused_projections(state.simulation.spec))}
    for pop in (cells, drive, times):
        seg = pop.get_data("spikes").segments[0]
        out[pop.label] = [np.asarray(t.magnitude) for t in seg.spiketrains]
    out["v"] = np.asarray(cells.get_data().segments[0].filter(name="v")[0].magnitude)
    out["weights"] = np.array(drive_prj.get(["weight", "delay"], format="list"))
    stats = sim.get_run_statistics()
    out["stats"] = (stats["spikes"], stats["neuron_spikes"], stats["synapses"])
    sim.reset()
    sim.run(20.0)
    out["after_reset"] = np.asarray(cells.get_data().segments[1].filter(name="v")[0].magnitude)
    sim.end()
    return out


@pytest.fixture(scope="module")
def routed():
    return run(1, fuse=False)


@pytest.mark.parametrize("n_ranks,npc", [(1, 7), (3, 7), (2, 256)])
def test_fused_equals_routed(routed, n_ranks, npc):
    fused = run(n_ranks, fuse=True, npc=npc)
    assert routed["fused"] == [] and len(fused["fused"]) == 4    # all but `shared`
    for key in ("cells", "drive", "times"):
        assert len(fused[key]) == len(routed[key])
        for a, b in zip(fused[key], routed[key]):
            np.testing.assert_array_equal(a, b)
    for key in ("v", "weights", "after_reset"):
        np.testing.assert_array_equal(fused[key], routed[key])
    assert fused["stats"] == routed["stats"]
    assert sum(len(t) for t in fused["cells"]) > 20
    # recorded source spikes: multiplicity kept, every other neuron of `times`
    assert [len(t) for t in fused["times"]] == [3] * 15
    assert sum(len(t) for t in fused["drive"]) > 30 * 60 * 1.0


def test_fused_sources_do_not_send_keys():
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=2)
    cells = sim.Population(40, sim.IF_curr_exp())
    drive = sim.Population(40, sim.SpikeSourcePoisson(rate=500.0))
    sim.Projection(drive, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.1))
    sim.run(20.0)
    stats = sim.get_run_statistics()
    sim.end()
    assert stats["spikes"] - stats["neuron_spikes"] > 300      # the drive spiked ...
    assert stats["keys_received"] == stats["neuron_spikes"] == 0   # ... and sent nothing
