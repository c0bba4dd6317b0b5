"""Tsodyks-Markram synapses: efficacies against the recurrence, read-back,
rank-count invariance."""
import math

import numpy as np
import pytest

import spinn as sim

TIMES = [10.0, 30.0, 35.0, 40.0, 45.0, 150.0, 152.0]


def tm_run(n_ranks, U, tau_rec, tau_facil, npc=None):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
    if npc:
        sim.set_number_of_neurons_per_core(sim.IF_curr_delta, npc)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=TIMES))
    # nearly no leak: v integrates the delta PSPs, one jump per spike
    tgt = sim.Population(4, sim.IF_curr_delta(tau_m=1e9, v_rest=0.0, v_thresh=1e9,
                                              v_reset=0.0), initial_values={"v": 0.0})
    syn = sim.TsodyksMarkramSynapse(weight=2.0, delay=1.0, U=U, tau_rec=tau_rec,
                                    tau_facil=tau_facil)
    prj = sim.Projection(src, tgt, sim.AllToAllConnector(), syn, receptor_type="excitatory")
    tgt.record("v")
    sim.run(200.0)
    v = np.asarray(tgt.get_data().segments[0].filter(name="v")[0].magnitude).copy()
    U_back = prj.get("U", format="array")
    sim.end()
    return v, U_back


def expected_efficacies(U, tau_rec, tau_facil, w=2.0):
    x, u, last, out = 1.0, 0.0, None, []
    for t in TIMES:
        h = math.inf if last is None else t - last
        x = 1.0 + (x - x * u - 1.0) * math.exp(-h / tau_rec)
        u = U + u * (1 - U) * (math.exp(-h / tau_facil) if tau_facil > 0 else 0.0)
        out.append(w * x * u)
        last = t
    return np.array(out)


@pytest.mark.parametrize("U,tau_rec,tau_facil", [(0.5, 100.0, 0.0),    # depressing
                                                  (0.1, 50.0, 200.0)])  # facilitating
def test_efficacies_follow_the_recurrence(U, tau_rec, tau_facil):
    v, U_back = tm_run(1, U, tau_rec, tau_facil)
    arrivals = [int(round((t + 1.0) / 0.1)) for t in TIMES]
    jumps = np.array([v[i, 0] - v[i - 1, 0] for i in arrivals])
    np.testing.assert_allclose(jumps, expected_efficacies(U, tau_rec, tau_facil), rtol=1e-6)
    np.testing.assert_array_equal(U_back, U)
    if tau_facil == 0.0:
        assert jumps[2] < jumps[1]          # depression within the 200 Hz burst
    else:
        assert jumps[2] > jumps[1]          # facilitation


def test_short_term_rank_invariant():
    ref, _ = tm_run(1, 0.3, 80.0, 30.0)
    v, _ = tm_run(3, 0.3, 80.0, 30.0, npc=1)
    np.testing.assert_array_equal(v, ref)


# -- per-synapse parameters ---------------------------------------------------------

def tm_targets(n_ranks, n, synapse, npc=None, run_ms=200.0):
    """One source firing at TIMES onto ``n`` leak-free IF_curr_delta targets (one
    synapse each, delay 1 ms): v jumps by each spike's efficacy times the weight."""
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks, rng_seed=11)
    if npc:
        sim.set_number_of_neurons_per_core(sim.IF_curr_delta, npc)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=TIMES))
    tgt = sim.Population(n, sim.IF_curr_delta(tau_m=1e9, v_rest=0.0, v_thresh=1e9,
                                              v_reset=0.0), initial_values={"v": 0.0})
    prj = sim.Projection(src, tgt, sim.AllToAllConnector(), synapse,
                         receptor_type="excitatory")
    tgt.record("v")
    return src, tgt, prj


def jumps_of(tgt):
    v = np.asarray(tgt.get_data().segments[0].filter(name="v")[0].magnitude)
    arrivals = [int(round((t + 1.0) / 0.1)) for t in TIMES]
    return np.array([v[i] - v[i - 1] for i in arrivals])        # (spike, target)


def test_per_synapse_parameters_follow_the_recurrence_synapse_by_synapse():
    U = np.array([[0.1, 0.5, 0.9, 0.3]])
    tau_rec = np.array([[20.0, 100.0, 400.0, 50.0]])
    tau_facil = np.array([[0.0, 0.0, 50.0, 300.0]])
    syn = sim.TsodyksMarkramSynapse(weight=2.0, delay=1.0, U=U, tau_rec=tau_rec,
                                    tau_facil=tau_facil)
    _, tgt, prj = tm_targets(1, 4, syn)
    sim.run(200.0)
    jumps = jumps_of(tgt)
    back = prj.get(["U", "tau_rec", "tau_facil"], format="array")
    sim.end()
    for j in range(4):
        np.testing.assert_allclose(jumps[:, j], expected_efficacies(
            U[0, j], tau_rec[0, j], tau_facil[0, j]), rtol=1e-6)
    np.testing.assert_array_equal(back[0], U)
    np.testing.assert_array_equal(back[1], tau_rec)
    np.testing.assert_array_equal(back[2], tau_facil)


def test_many_distinct_time_constants_random_and_rank_invariant():
    """Random U and tau_rec (more distinct time constants than decay tables are
    built for): each synapse follows the recurrence with its own values, read back
    with Projection.get, and the result is the same on 1 and 3 ranks."""
    def one(n_ranks):
        syn = sim.TsodyksMarkramSynapse(
            weight=2.0, delay=1.0, U=sim.RandomDistribution("uniform", (0.05, 0.95)),
            tau_rec=sim.RandomDistribution("uniform", (10.0, 500.0)), tau_facil=30.0)
        _, tgt, prj = tm_targets(n_ranks, 24, syn, npc=5)
        sim.run(200.0)
        out = jumps_of(tgt), np.asarray(prj.get(["U", "tau_rec"], format="list"))
        sim.end()
        return out
    jumps, listed = one(1)
    assert np.unique(listed[:, 3]).size == 24
    for i, post, U, tau_rec in listed:
        np.testing.assert_allclose(jumps[:, int(post)],
                                   expected_efficacies(U, tau_rec, 30.0), rtol=1e-6)
    jumps3, listed3 = one(3)
    np.testing.assert_array_equal(jumps3, jumps)
    np.testing.assert_array_equal(listed3, listed)


def test_set_parameters_between_runs_and_after_reset():
    syn = sim.TsodyksMarkramSynapse(weight=2.0, delay=1.0, U=0.5, tau_rec=100.0)
    _, tgt, prj = tm_targets(2, 4, syn, npc=2)
    prj.set(U=np.array([[0.2, 0.4, 0.6, 0.8]]))              # before the first run
    sim.run(200.0)
    first = jumps_of(tgt)
    for j, U in enumerate((0.2, 0.4, 0.6, 0.8)):
        np.testing.assert_allclose(first[:, j], expected_efficacies(U, 100.0, 0.0), rtol=1e-6)
    prj.set(tau_rec=sim.RandomDistribution("uniform", (30.0, 60.0)))
    taus = prj.get("tau_rec", format="array")[0]
    assert np.all((taus >= 30.0) & (taus <= 60.0)) and np.unique(taus).size == 4
    sim.reset()                                              # keeps what set() gave
    sim.run(200.0)
    again = np.asarray(tgt.get_data().segments[1].filter(name="v")[0].magnitude)
    np.testing.assert_array_equal(prj.get("tau_rec", format="array")[0], taus)
    arrivals = [int(round((t + 1.0) / 0.1)) for t in TIMES]
    jumps = np.array([again[i] - again[i - 1] for i in arrivals])
    for j, U in enumerate((0.2, 0.4, 0.6, 0.8)):
        np.testing.assert_allclose(jumps[:, j], expected_efficacies(U, taus[j], 0.0),
                                   rtol=1e-6)
    sim.end()


def test_parameters_out_of_range_are_refused_naming_the_projection():
    from spinn.errors import NetworkError
    sim.setup(timestep=0.1, quiet=True)
    a, b = sim.Population(2, sim.IF_curr_exp()), sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(NetworkError, match="'bad': U=1.5 must lie in"):
        sim.Projection(a, b, sim.AllToAllConnector(),
                       sim.TsodyksMarkramSynapse(U=1.5), label="bad")
    with pytest.raises(NetworkError, match="'worse': U=-0.3 must lie in"):
        sim.Projection(a, b, sim.AllToAllConnector(),
                       sim.TsodyksMarkramSynapse(U=np.array([[0.5, 0.2], [0.1, -0.3]])),
                       label="worse")
    sim.Projection(a, b, sim.AllToAllConnector(),
                   sim.TsodyksMarkramSynapse(
                       tau_rec=sim.RandomDistribution("uniform", (-10.0, -1.0))),
                   label="drawn")
    with pytest.raises(NetworkError, match="'drawn': tau_rec=-[0-9.]+ ms must be positive"):
        sim.run(1.0)
    sim.end()
    sim.setup(timestep=0.1, quiet=True)
    a, b = sim.Population(2, sim.IF_curr_exp()), sim.Population(2, sim.IF_curr_exp())
    prj = sim.Projection(a, b, sim.AllToAllConnector(),
                         sim.SimpleStochasticSynapse(p=0.5, weight=0.1), label="coin")
    with pytest.raises(NetworkError, match="'coin': p=2 must lie in"):
        prj.set(p=2.0)
    with pytest.raises(NetworkError, match="'sites': n=0 must be a positive whole"):
        sim.Projection(a, b, sim.AllToAllConnector(),
                       sim.MultiQuantalSynapse(n=0), label="sites")
    sim.end()


# -- stochastic synapses --------------------------------------------------------------

def stochastic_run(n_ranks, p, n_targets=40, npc=None, seed=None, run_ms=1000.0):
    """A source firing every 5 ms onto ``n_targets`` delta cells through
    SimpleStochasticSynapse(p): each target's v counts its transmitted spikes."""
    kwargs = {} if seed is None else {"rng_seed": seed}
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks, **kwargs)
    if npc:
        sim.set_number_of_neurons_per_core(sim.IF_curr_delta, npc)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(2.0, run_ms - 5, 5.0)))
    tgt = sim.Population(n_targets, sim.IF_curr_delta(tau_m=1e9, v_rest=0.0, v_thresh=1e9,
                                                      v_reset=0.0), initial_values={"v": 0.0})
    sim.Projection(src, tgt, sim.AllToAllConnector(),
                   sim.SimpleStochasticSynapse(weight=1.0, delay=1.0, p=p))
    tgt.record("v")
    sim.run(run_ms)
    v = np.asarray(tgt.get_data().segments[0].filter(name="v")[0].magnitude).copy()
    sim.end()
    return v, src


def test_simple_stochastic_p0_p1_and_a_half():
    n_spikes = len(np.arange(2.0, 995.0, 5.0))
    v0, _ = stochastic_run(1, 0.0, n_targets=4)
    assert np.all(v0 == 0.0)
    v1, _ = stochastic_run(1, 1.0, n_targets=4)
    np.testing.assert_allclose(v1[-1], n_spikes, rtol=1e-5)     # (a leak of 1e9 ms)
    v, _ = stochastic_run(1, 0.5)
    counts = np.rint(v[-1]).astype(int)
    total, trials = counts.sum(), 40 * n_spikes
    # binomial(7960, 0.5): mean 3980, sd 44.6; 5 sd either side
    assert abs(total - trials / 2) < 5 * np.sqrt(trials) / 2
    for c in counts:        # each synapse: binomial(199, 0.5), sd 7.05
        assert abs(c - n_spikes / 2) < 5 * np.sqrt(n_spikes) / 2
    assert np.unique(counts).size > 5                   # synapses draw independently
    # each increment is a whole spike: transmitted or not
    steps = np.diff(v, axis=0)
    assert set(np.unique(np.round(steps, 6)).tolist()) <= {0.0, 1.0}


def test_simple_stochastic_rank_invariant_and_seeded():
    ref, _ = stochastic_run(1, 0.5, run_ms=300.0)
    v3, _ = stochastic_run(3, 0.5, npc=7, run_ms=300.0)
    np.testing.assert_array_equal(v3, ref)
    again, _ = stochastic_run(2, 0.5, npc=9, run_ms=300.0)
    np.testing.assert_array_equal(again, ref)
    other, _ = stochastic_run(1, 0.5, seed=12345, run_ms=300.0)
    assert not np.array_equal(other, ref)
    same, _ = stochastic_run(2, 0.5, seed=12345, npc=9, run_ms=300.0)
    np.testing.assert_array_equal(same, other)


@pytest.mark.parametrize("kind,n", [("stochastic_tm", 1), ("quantal", 1), ("quantal", 4)])
@pytest.mark.parametrize("U,tau_rec,tau_facil", [(0.6, 100.0, 0.0), (0.1, 50.0, 200.0)])
def test_mean_release_follows_the_deterministic_recurrence(kind, n, U, tau_rec, tau_facil):
    """Averaged over many synapses, the stochastic models release what the
    deterministic Tsodyks-Markram synapse transmits (n times for n sites): the
    expectation of the quantal recurrence is the deterministic one, and the
    stochastic TM's memoryless recovery is the quantal model's with one site."""
    N = 1500
    if kind == "stochastic_tm":
        syn = sim.StochasticTsodyksMarkramSynapse(weight=2.0, delay=1.0, U=U, tau_rec=tau_rec,
                                                  tau_facil=tau_facil)
    else:
        syn = sim.MultiQuantalSynapse(weight=2.0, delay=1.0, U=U, n=n, tau_rec=tau_rec,
                                      tau_facil=tau_facil)
    _, tgt, prj = tm_targets(1, N, syn)
    if kind == "quantal":
        prj.initialize(a=n, u=0.0)       # as the deterministic synapse starts: u = 0
    sim.run(200.0)
    jumps = jumps_of(tgt) / 2.0          # sites released per spike and synapse
    sim.end()
    assert set(np.unique(np.round(jumps, 6)).tolist()) <= set(range(n + 1))
    expected = n * expected_efficacies(U, tau_rec, tau_facil, w=1.0)
    sd = n * 0.5 / np.sqrt(N)            # a count in [0, n] varies by at most n/2
    np.testing.assert_array_less(np.abs(jumps.mean(axis=1) - expected), 5 * sd)


def test_multiquantal_defaults_and_initialize_after_build():
    from spinn.errors import SimulationStateError
    syn = sim.MultiQuantalSynapse(weight=1.0, delay=1.0, U=1.0, n=3, tau_rec=1e9)
    _, tgt, prj = tm_targets(1, 2, syn)
    sim.run(200.0)
    jumps = jumps_of(tgt)
    # u = U = 1 and every site full at the start: all three release at the first
    # spike, and with no recovery nothing after
    np.testing.assert_allclose(jumps[0], [3.0, 3.0], rtol=1e-6)
    np.testing.assert_allclose(jumps[1:], 0.0, atol=1e-6)
    with pytest.raises(SimulationStateError, match="initialize\\(\\) after the network"):
        prj.initialize(a=1)
    sim.end()


def test_checkpoint_keeps_per_synapse_parameters_and_stochastic_state(tmp_path):
    """Random per-synapse U of deterministic and stochastic projections: a
    checkpoint saved on 2 ranks and restored on 3 continues bit for bit, and the
    checkpoint's tables hold every synapse's parameters."""
    from spinn.checkpoint import _unpack

    def build(n_ranks):
        sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks, rng_seed=5)
        sim.set_number_of_neurons_per_core(sim.IF_curr_delta, 4)
        src = sim.Population(5, sim.SpikeSourcePoisson(rate=80.0), label="src")
        tgt = sim.Population(12, sim.IF_curr_delta(tau_m=1e9, v_rest=0.0, v_thresh=1e9,
                                                   v_reset=0.0), initial_values={"v": 0.0},
                             label="tgt")
        U = sim.RandomDistribution("uniform", (0.1, 0.9))
        tm = sim.Projection(src, tgt, sim.AllToAllConnector(),
                            sim.TsodyksMarkramSynapse(weight=1.0, delay=1.0, U=U,
                                                      tau_facil=20.0), label="tm")
        sim.Projection(src, tgt, sim.FixedProbabilityConnector(0.5),
                       sim.StochasticTsodyksMarkramSynapse(weight=0.5, delay=1.5, U=U),
                       label="stm")
        sim.Projection(src, tgt, sim.FixedProbabilityConnector(0.5),
                       sim.MultiQuantalSynapse(weight=0.25, delay=2.0, U=U, n=3),
                       label="mq")
        sim.Projection(src, tgt, sim.AllToAllConnector(),
                       sim.SimpleStochasticSynapse(weight=0.125, delay=1.0,
                                                   p=sim.RandomDistribution("uniform",
                                                                            (0.2, 0.8))),
                       label="coin")
        tgt.record("v")
        return tgt, tm

    tgt, tm = build(1)
    sim.run(200.0)
    reference = np.asarray(tgt.get_data().segments[0].filter(name="v")[0].magnitude).copy()
    sim.end()
    assert np.ptp(reference) > 1.0

    tgt, tm = build(2)
    sim.run(100.0)
    tm.set(U=np.linspace(0.2, 0.7, 60).reshape(5, 12))   # kept in the checkpoint
    U_set = tm.get("U", format="list")
    sim.save_checkpoint(tmp_path / "ck")
    sim.run(100.0)
    changed = np.asarray(tgt.get_data().segments[0].filter(name="v")[0].magnitude).copy()
    sim.end()
    tables = [_unpack((tmp_path / "ck" / f"rank-0000{r}.msgpack").read_bytes())[1]
              for r in (0, 1)]
    saved = np.concatenate([t["short_term"]["=U"][t["short_term"]["proj"] == 0]
                            for t in tables])
    np.testing.assert_array_equal(np.sort(saved), np.sort([u for _, _, u in U_set]))
    assert {"=tau_rec", "=tau_facil", "=n", "=p", "=x", "=u", "=last", "=surv"} <= set(
        tables[0]["short_term"])

    tgt, tm = build(3)
    tm.set(U=np.linspace(0.2, 0.7, 60).reshape(5, 12))
    sim.restore_checkpoint(tmp_path / "ck")
    assert tm.get("U", format="list") == U_set
    sim.run(100.0)
    restored = np.asarray(tgt.get_data().segments[0].filter(name="v")[0].magnitude).copy()
    sim.end()
    np.testing.assert_array_equal(restored, changed)
    np.testing.assert_array_equal(changed[:1000], reference[:1000])
    assert not np.array_equal(changed, reference)


def test_restore_takes_the_saved_parameters():
    """import_runtime (a restore) writes the saved per-synapse parameters into
    the synapses, not only their state."""
    from spinn.pynn.simulator import state
    from spinn.state import export_runtime, import_runtime
    syn = sim.TsodyksMarkramSynapse(weight=2.0, delay=1.0,
                                    U=sim.RandomDistribution("uniform", (0.1, 0.9)))
    tm_targets(1, 6, syn)
    sim.run(20.0)
    rt = state.built_simulation().runtimes[0]
    tables = export_runtime(rt, 200, recording=False)
    pp = rt.short_term.projections[0]
    before = pp.params["U"].copy()
    tables["short_term"]["=U"] = tables["short_term"]["=U"][::-1].copy()
    import_runtime(rt, tables, 200, strict=True)
    np.testing.assert_array_equal(pp.params["U"], before[::-1])
    sim.end()


def test_rank_image_keeps_per_synapse_parameters(tmp_path):
    """A rank image on disk (``spinn map --save``) holds the short-term
    parameters per synapse and the models; a runtime from the loaded image
    simulates what the in-memory one does."""
    from spinn.image import load_rank_image, save_rank_image
    from spinn.pynn.simulator import state
    from spinn.runtime import RankRuntime
    syn = sim.StochasticTsodyksMarkramSynapse(
        weight=2.0, delay=1.0, U=sim.RandomDistribution("uniform", (0.1, 0.9)), tau_rec=40.0)
    tm_targets(1, 6, syn)
    sim.run(1.0)
    image = state.built_simulation().images[0]
    save_rank_image(image, tmp_path / "rank.msgpack")
    loaded = load_rank_image(tmp_path / "rank.msgpack")
    assert [(p, n) for p, n, _ in loaded.synapses.short_term] == [
        (p, n) for p, n, _ in image.synapses.short_term]
    for (_, _, a), (_, _, b) in zip(loaded.synapses.short_term, image.synapses.short_term):
        np.testing.assert_array_equal(a, b)
    assert loaded.rules[0][3].model == "stochastic_tsodyks_markram"
    a, b = RankRuntime(image, 0).short_term, RankRuntime(loaded, 0).short_term
    index = np.arange(6)
    for t in (10, 50, 300, 310, 320):
        np.testing.assert_array_equal(a.efficacies(index, t, np.ones_like)[1],
                                      b.efficacies(index, t, np.ones_like)[1])
    sim.end()
