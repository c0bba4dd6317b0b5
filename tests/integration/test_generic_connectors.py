"""Spatial connectors and distance expressions run natively; connectors and
values without a native generator run PyNN's own connector code once per
process, with a warning. Results stay identical on any rank count."""
import logging

import numpy as np
import pytest
from pyNN.recording.files import StandardTextFile

import spinn as sim


def run_spatial(n_ranks, npc):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, npc)
    sim.set_number_of_neurons_per_core(sim.SpikeSourcePoisson, npc)
    src = sim.Population(20, sim.SpikeSourcePoisson(rate=60.0))
    dst = sim.Population(30, sim.IF_curr_exp(v_thresh=-60.0))
    ddp = sim.Projection(src, dst, sim.DistanceDependentProbabilityConnector(
        "d < 5", rng=sim.NumpyRNG(seed=3)), sim.StaticSynapse(weight=0.5, delay="0.2+0.3*d"),
        receptor_type="excitatory", label="ddp")
    a2a = sim.Projection(dst, dst, sim.AllToAllConnector(allow_self_connections=False),
                         sim.StaticSynapse(weight=sim.RandomDistribution(
                             "gamma", k=2.0, theta=0.5, rng=sim.NumpyRNG(seed=9)),
                             delay="0.2+0.3*d"), receptor_type="excitatory", label="a2a")
    dst.record("spikes")
    sim.run(60.0)
    lists = {p.label: np.array(p.get(["weight", "delay"], format="list")) for p in (ddp, a2a)}
    spikes = [st.magnitude.copy() for st in dst.get_data().segments[0].spiketrains]
    sim.end()
    return lists, spikes


def test_spatial_semantics():
    lists, spikes = run_spatial(1, 256)
    ddp, a2a = lists["ddp"], lists["a2a"]
    # d < 5 on a line with unit spacing: |i - j| < 5
    assert np.all(np.abs(ddp[:, 0] - ddp[:, 1]) < 5) and len(ddp) == 170
    np.testing.assert_allclose(ddp[:, 3], 0.2 + 0.3 * np.abs(ddp[:, 0] - ddp[:, 1]), atol=1e-9)
    assert len(a2a) == 30 * 29 and not np.any(a2a[:, 0] == a2a[:, 1])
    np.testing.assert_allclose(a2a[:, 3], 0.2 + 0.3 * np.abs(a2a[:, 0] - a2a[:, 1]), atol=1e-9)
    assert sum(len(s) for s in spikes) > 0


@pytest.mark.parametrize("n_ranks,npc", [(2, 7), (3, 4)])
def test_spatial_rank_invariant(n_ranks, npc):
    ref_lists, ref_spikes = run_spatial(1, 256)
    lists, spikes = run_spatial(n_ranks, npc)
    for label in ref_lists:
        np.testing.assert_array_equal(lists[label], ref_lists[label])
    for a, b in zip(spikes, ref_spikes):
        np.testing.assert_array_equal(a, b)


def run_generic(n_ranks, npc):
    """A FixedNumberPre with a random number of sources per target has no native
    generator; nothing is seeded in the script."""
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, npc)
    src = sim.Population(40, sim.SpikeSourcePoisson(rate=80.0))
    dst = sim.Population(25, sim.IF_curr_exp(v_thresh=-62.0))
    prj = sim.Projection(src, dst, sim.FixedNumberPreConnector(
        sim.RandomDistribution("uniform_int", low=2, high=9)),
        sim.StaticSynapse(weight=sim.RandomDistribution("uniform", low=0.2, high=0.6),
                          delay=1.0), label="random-n")
    dst.record("spikes")
    sim.run(50.0)
    conns = np.array(prj.get(["weight", "delay"], format="list"))
    spikes = [st.magnitude.copy() for st in dst.get_data().segments[0].spiketrains]
    sim.end()
    return conns, spikes


def test_generic_path_warns_and_is_rank_invariant(caplog):
    with caplog.at_level(logging.WARNING, logger="spinn.pynn.projections"):
        ref_conns, ref_spikes = run_generic(1, 256)
    assert any("random-n" in r.getMessage() and "PyNN's own connector code" in r.getMessage()
               for r in caplog.records)
    per_target = np.bincount(ref_conns[:, 1].astype(int), minlength=25)
    assert per_target.min() >= 2 and per_target.max() <= 8 and len(set(per_target)) > 1
    assert ref_conns[:, 2].min() >= 0.2 and ref_conns[:, 2].max() <= 0.6
    conns, spikes = run_generic(3, 4)
    np.testing.assert_array_equal(conns, ref_conns)
    for a, b in zip(spikes, ref_spikes):
        np.testing.assert_array_equal(a, b)
    assert sum(len(s) for s in ref_spikes) > 0


@pytest.mark.parametrize("header", [None, ["i", "j", "weight", "delay"], ["weight", "delay"]])
def test_from_file_connector(tmp_path, header):
    """FromFileConnector (a FromListConnector whose list and column names PyNN reads
    only in ``connect``) builds the connections in its file, with or without a
    ``# columns`` header, and the file can be used by a second projection
    (PyNN's examples/connections.py)."""
    rows = np.array([[0, 1, 0.5, 1.0], [2, 0, 0.25, 2.0], [1, 2, 0.75, 1.5]])
    path = tmp_path / "conns.txt"
    sim.setup(timestep=0.1, quiet=True)
    metadata = {} if header is None else {"columns": header}
    StandardTextFile(str(path), mode="w").write(rows, metadata)
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=[1.0]))
    dst = sim.Population(3, sim.IF_curr_exp())
    connector = sim.FromFileConnector(str(path))
    projections = [sim.Projection(src, dst, connector, sim.StaticSynapse(),
                                  receptor_type="excitatory") for _ in range(2)]
    sim.run(5.0)
    for projection in projections:
        got = np.array(projection.get(["weight", "delay"], format="list"))
        got = got[np.lexsort((got[:, 1], got[:, 0]))]
        want = rows[np.lexsort((rows[:, 1], rows[:, 0]))]
        np.testing.assert_allclose(got, want)
    sim.end()
