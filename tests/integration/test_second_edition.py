"""What the second edition of the core promises, on in-process ranks: cells
recorded later are aligned, Projection.set survives reset(), views gather only
their cells, spikes go only where they have targets, every dynamic array has a
name, random values do not depend on the slicing."""
import numpy as np
import pytest

import spinn as sim
from spinn.pynn.simulator import state


def test_recording_more_cells_later_aligns_them_in_time():
    out = []
    for n_ranks in (1, 3):
        sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
        sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 2)
        p = sim.Population(4, sim.IF_curr_exp(i_offset=np.array([0.5, 0.6, 0.7, 0.8])))
        p[0:2].record("v")
        sim.run(5.0)
        p[2:4].record("v")
        sim.run(5.0)
        out.append(np.asarray(p.get_data().segments[0].filter(name="v")[0].magnitude))
        sim.end()
    sim.setup(timestep=0.1, quiet=True)
    p = sim.Population(4, sim.IF_curr_exp(i_offset=np.array([0.5, 0.6, 0.7, 0.8])))
    p.record("v")
    sim.run(10.0)
    full = np.asarray(p.get_data().segments[0].filter(name="v")[0].magnitude)
    sim.end()
    v = out[0]
    assert v.shape == (101, 4)
    np.testing.assert_array_equal(v[:, :2], full[:, :2])          # nothing lost
    assert np.isnan(v[:50, 2:]).all()                            # not recorded yet
    np.testing.assert_array_equal(v[50:, 2:], full[50:, 2:])      # aligned in time
    np.testing.assert_array_equal(out[0], out[1])


def test_projection_set_survives_reset():
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=2)
    a = sim.Population(3, sim.SpikeSourcePoisson(rate=10.0))
    b = sim.Population(3, sim.IF_curr_exp())
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5))
    sim.run(5.0)
    prj.set(weight=0.01)
    sim.reset()
    assert set(np.array(prj.get("weight", format="list"))[:, 2]) == {0.01}
    sim.end()


def test_get_data_of_one_variable_after_reset_keeps_the_stored_segment():
    sim.setup(timestep=0.1, quiet=True)
    p = sim.Population(3, sim.IF_curr_exp(i_offset=1.0))
    p.record(["spikes", "v"])
    sim.run(10.0)
    sim.reset()
    sim.run(10.0)
    assert [len(s.analogsignals) for s in p.get_data("v").segments] == [1, 1]
    assert [len(s.analogsignals) for s in p.get_data().segments] == [1, 1]
    sim.end()


def test_a_view_gathers_only_its_cells():
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=3)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 4)
    p = sim.Population(12, sim.IF_curr_exp(i_offset=np.linspace(0.6, 1.5, 12)))
    p.record(["spikes", "v"])
    sim.run(40.0)
    whole = p.get_data().segments[0]
    part = p[5:8].get_data().segments[0]
    v_whole = np.asarray(whole.filter(name="v")[0].magnitude)
    v_part = np.asarray(part.filter(name="v")[0].magnitude)
    assert v_part.shape == (401, 3)
    np.testing.assert_array_equal(v_part, v_whole[:, 5:8])
    assert len(part.spiketrains) == 3
    for a, b in zip(part.spiketrains, whole.spiketrains[5:8]):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
    sim.end()


@pytest.mark.parametrize("npc", [256, 100])
def test_spikes_go_only_to_ranks_that_hold_a_target(npc):
    """OneToOne 2048 -> 2048 over 8 ranks: every key that arrives finds a synapse
    (with the sources routed, not fused into their targets)."""
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=8, fuse_sources=False)
    sim.set_number_of_neurons_per_core(sim.SpikeSourcePoisson, npc)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, npc)
    src = sim.Population(2048, sim.SpikeSourcePoisson(rate=50.0))
    dst = sim.Population(2048, sim.IF_curr_exp())
    sim.Projection(src, dst, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.1))
    sim.run(20.0)
    stats = sim.get_run_statistics()
    sim.end()
    sources = stats["spikes"] - stats["neuron_spikes"]
    assert sources > 1000
    assert stats["keys_received"] == stats["keys_used"] == sources


def test_every_dynamic_array_has_a_name():
    sim.setup(timestep=0.1, quiet=True)
    a = sim.Population(5, sim.SpikeSourcePoisson(rate=50.0))
    b = sim.Population(4, sim.IF_curr_alpha())
    sim.Projection(a, b, sim.AllToAllConnector(), sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(), weight_dependence=sim.AdditiveWeightDependence(),
        weight=0.2, delay=1.0))
    sim.run(5.0)
    rt = state.simulation.runtimes[0]
    arrays = rt.state_arrays()
    names = set(arrays)
    assert "ring" in names and "plastic/weight" in names
    assert any(n.endswith("IF_curr_alpha/state/v") for n in names)
    assert any(n.endswith("IF_curr_alpha/refractory") for n in names)
    assert any(n.endswith("IF_curr_alpha/syn/rise/0") for n in names)
    assert any(n.endswith("/x_after") for n in names)
    # they are the live arrays, not copies
    slot = next(s for s in rt.slots if s.model_name == "IF_curr_alpha")
    next(arrays[n] for n in names if n.endswith("IF_curr_alpha/state/v"))[:] = 123.0
    assert np.all(slot.group.state["v"] == 123.0)
    sim.end()


def test_images_are_frozen():
    sim.setup(timestep=0.1, quiet=True)
    a = sim.Population(5, sim.SpikeSourcePoisson(rate=50.0))
    b = sim.Population(4, sim.IF_curr_exp())
    sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.2))
    sim.run(1.0)
    image = state.simulation.images[0]
    group = next(g for g in image.groups if g.model == "IF_curr_exp")
    with pytest.raises(ValueError):
        image.synapses.offset[0] = 1
    with pytest.raises(ValueError):
        group.params["tau_m"][0] = 1.0
    with pytest.raises(TypeError):
        state.simulation.spec.populations[1].params["tau_m"] = 3.0
    with pytest.raises(AttributeError):
        state.simulation.spec.populations[1].size = 7
    sim.end()
