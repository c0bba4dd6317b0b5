"""Checkpoint and restart onto any number of ranks (spinn.checkpoint)."""
import json

import numpy as np
import pytest

import spinn as sim
from spinn.state import StateError


def build(n_ranks, *, weight=0.5):
    """Every kind of state: LIF with refractoriness and alpha synapses, STDP
    with axonal delays (pending events), short-term plasticity, a gamma
    source (a next-spike time per neuron), Poisson and array sources,
    current sources, spikes and signals recorded."""
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks, rng_seed=3)
    sim.set_number_of_neurons_per_core(sim.IF_curr_alpha, 9)
    noise = sim.Population(25, sim.SpikeSourcePoisson(rate=300.0), label="noise")
    gamma = sim.Population(10, sim.SpikeSourceGamma(alpha=3.0, beta=150.0), label="gamma")
    times = sim.Population(3, sim.SpikeSourceArray(spike_times=[[12.0, 31.0], [29.9], [45.0]]),
                           label="times")
    cells = sim.Population(30, sim.IF_curr_alpha(tau_refrac=3.0), label="cells",
                           initial_values={"v": sim.RandomDistribution("uniform", (-65, -52))})
    other = sim.Population(8, sim.IF_cond_exp(), label="other")
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=15.0, tau_minus=25.0,
                                            A_plus=0.02, A_minus=0.02),
        weight_dependence=sim.MultiplicativeWeightDependence(w_min=0.0, w_max=2.0),
        weight=weight, delay=1.3, dendritic_delay_fraction=0.5)
    plastic = sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.4), stdp,
                             label="plastic")
    sim.Projection(gamma, cells, sim.FixedNumberPreConnector(3),
                   sim.TsodyksMarkramSynapse(U=0.4, tau_rec=80.0, tau_facil=10.0,
                                             weight=0.8, delay=0.5), label="tm")
    beat = sim.Population(30, sim.SpikeSourceGamma(alpha=2.0, beta=100.0), label="beat")
    sim.Projection(beat, cells, sim.OneToOneConnector(),      # fused: state next to cells
                   sim.StaticSynapse(weight=0.7, delay=0.8), label="beat")
    sim.Projection(times, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=1.5, delay=2.5), label="times")
    sim.Projection(cells, other, sim.FixedProbabilityConnector(0.3),
                   sim.StaticSynapse(weight=0.01, delay=4.0), label="fwd")
    sim.DCSource(amplitude=0.2, start=5.0, stop=50.0).inject_into(cells[0:10])
    sim.NoisyCurrentSource(mean=0.1, stdev=0.2, dt=0.5, start=0.0, stop=60.0).inject_into(other)
    for pop in (noise, gamma, cells, other):
        pop.record("spikes")
    cells.record("v")
    other.record(["v", "gsyn_exc"])
    return (noise, gamma, cells, other), plastic


def result(pops, plastic):
    out = {}
    for pop in pops:
        seg = pop.get_data().segments[0]
        out[pop.label] = [np.asarray(st.magnitude).copy() for st in seg.spiketrains]
        for sig in seg.analogsignals:
            out[f"{pop.label}/{sig.name}"] = np.asarray(sig.magnitude).copy()
    w = np.asarray(plastic.get("weight", format="list"), dtype=float)
    out["weights"] = w[np.lexsort((w[:, 1], w[:, 0]))]
    return out


def same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], list):
            assert len(a[key]) == len(b[key])
            for x, y in zip(a[key], b[key]):
                np.testing.assert_array_equal(x, y, err_msg=key)
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture(scope="module")
def reference():
    pops, plastic = build(1)
    sim.run(30.0)
    sim.run(30.0)
    out = result(pops, plastic)
    sim.end()
    assert sum(len(s) for s in out["cells"]) > 15
    return out


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "at30"
    pops, plastic = build(2)
    sim.run(30.0)
    sim.save_checkpoint(path)
    sim.end()
    return path


@pytest.mark.parametrize("n_ranks", [1, 2, 3])
def test_restart_on_any_rank_count_is_bit_identical(saved, reference, n_ranks):
    pops, plastic = build(n_ranks)
    assert sim.restore_checkpoint(saved) == pytest.approx(30.0)
    assert sim.get_current_time() == pytest.approx(30.0)
    sim.run(30.0)
    same(result(pops, plastic), reference)       # recorded before the save included
    sim.end()


def test_manifest_and_files(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["version"] == 1 and manifest["n_ranks"] == 2 and manifest["step"] == 300
    assert [f["name"] for f in manifest["files"]] == ["rank-00000.msgpack",
                                                      "rank-00001.msgpack"]
    assert all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in manifest["files"])
    assert not saved.with_name(saved.name + ".partial").exists()


def test_another_network_is_refused(saved):
    build(1, weight=0.6)
    with pytest.raises(StateError, match="another network.*'plastic'"):
        sim.restore_checkpoint(saved)
    sim.end()


def test_damaged_file_and_other_version_are_refused(saved, tmp_path):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(saved, copy)
    data = bytearray((copy / "rank-00001.msgpack").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "rank-00001.msgpack").write_bytes(bytes(data))
    build(1)
    with pytest.raises(StateError, match="rank-00001.msgpack: damaged"):
        sim.restore_checkpoint(copy)
    sim.end()
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["version"] = 99
    shutil.rmtree(copy)
    shutil.copytree(saved, copy)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    build(1)
    with pytest.raises(StateError, match="format version 99, this spinn reads version 1"):
        sim.restore_checkpoint(copy)
    with pytest.raises(StateError, match="not a spinn checkpoint"):
        sim.restore_checkpoint(tmp_path)
    sim.end()


def test_restore_after_a_run_is_refused(saved):
    build(1)
    sim.run(1.0)
    with pytest.raises(Exception, match="before the first run"):
        sim.restore_checkpoint(saved)
    sim.end()


def test_saving_again_replaces_the_checkpoint_atomically(tmp_path):
    path = tmp_path / "ck"
    pops, plastic = build(1)
    sim.run(10.0)
    sim.save_checkpoint(path)
    sim.run(10.0)
    sim.save_checkpoint(path)
    assert json.loads((path / "manifest.json").read_text())["step"] == 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
    sim.end()


def test_periodic_checkpoints_from_the_environment(tmp_path, monkeypatch, reference):
    """What ``spinn run --checkpoint-every 20 --checkpoint DIR`` sets: a run
    stops at each multiple of 20 ms to write DIR; restoring the last one
    written before the end goes on exactly."""
    path = tmp_path / "periodic"
    monkeypatch.setenv("SPINN_CHECKPOINT_EVERY", "20")
    monkeypatch.setenv("SPINN_CHECKPOINT", str(path))
    pops, plastic = build(2)
    sim.run(30.0)               # writes at 20 ms
    assert json.loads((path / "manifest.json").read_text())["step"] == 200
    sim.run(30.0)               # at 40 and 60 ms
    assert json.loads((path / "manifest.json").read_text())["step"] == 600
    same(result(pops, plastic), reference)      # stopping to write changes nothing
    sim.end()
    monkeypatch.delenv("SPINN_CHECKPOINT_EVERY")
    pops, plastic = build(1)
    sim.restore_checkpoint(path)
    assert sim.get_current_time() == pytest.approx(60.0)
    same(result(pops, plastic), reference)
    sim.end()
