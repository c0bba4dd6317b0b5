"""spinn.compat, the sPyNNaker dialect: one sPyNNaker-style script per
feature, then whole scripts through ``import pyNN.spiNNaker`` in a subprocess."""
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import spinn
import spinn.compat as p
from spinn.errors import NetworkError
from spinn.values import take

ROOT = Path(__file__).resolve().parents[2]


def spikes_of(pop):
    return [np.asarray(t.magnitude) for t in pop.get_data("spikes").segments[0].spiketrains]


def same_trains(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


# -- setup, name, configuration calls -------------------------------------------------

def test_setup_accepts_spinnaker_keywords_and_logs_them(caplog):
    with caplog.at_level(logging.INFO, logger="spinn.compat"):
        p.setup(timestep=1.0, min_delay=1.0, max_delay=144.0, n_boards_required=3,
                n_chips_required=48, time_scale_factor=10, db_name="x.sqlite3",
                database_socket_addresses=[], quiet=True)
    text = caplog.text
    for key in ("n_boards_required", "n_chips_required", "time_scale_factor", "db_name",
                "database_socket_addresses", "max_delay"):
        assert key in text
    assert p.get_time_step() == 1.0
    p.end()


@pytest.mark.parametrize("kwargs,dt", [({"timestep": "auto"}, 1.0),
                                       ({"machine_time_step": 500}, 0.5),
                                       ({}, 0.1)])
def test_setup_timestep_variants(kwargs, dt):
    p.setup(quiet=True, **kwargs)
    assert p.get_time_step() == dt
    assert p.get_min_delay() == dt           # min_delay "auto": the timestep
    p.end()


def test_name_and_configuration_calls(caplog):
    assert p.name() == "spinn (sPyNNaker compatible)"
    assert spinn.pynn.simulator.name == "spinn"          # the standard API keeps its name
    p.setup(timestep=1.0, quiet=True)
    with caplog.at_level(logging.INFO, logger="spinn.compat"):
        p.set_allow_delay_extensions(p.IF_curr_exp, False)
        p.set_number_of_synapse_cores(p.IF_curr_exp, 1)
    assert "set_allow_delay_extensions" in caplog.text
    assert "set_number_of_synapse_cores" in caplog.text
    p.set_number_of_neurons_per_core(p.IF_curr_exp, (4, 5))
    pop = p.Population(50, p.IF_curr_exp())
    assert pop._spec.max_atoms_per_core == 20
    pop.set_max_atoms_per_core(7)
    assert pop._spec.max_atoms_per_core == 7
    with pytest.raises(NotImplementedError, match="no SpiNNaker machine"):
        p.get_machine()
    p.end()


# -- Population -----------------------------------------------------------------

def test_population_with_the_class_and_no_parameters():
    p.setup(timestep=1.0, quiet=True)
    a = p.Population(3, p.IF_curr_exp)
    b = p.Population(3, p.IF_curr_exp, {"tau_m": 12.0})
    c = p.Population(3, p.SpikeSourceArray, {"spike_times": [1.0, 2.0]})
    assert a.get("tau_m") == 20.0 and b.get("tau_m") == 12.0
    c.record("spikes")
    p.run(5)
    assert [list(t.magnitude) for t in c.get_data("spikes").segments[0].spiketrains] == \
        [[1.0, 2.0]] * 3
    p.end()


def test_spike_at_zero_ms_is_sent():
    """sPyNNaker's synfire examples start the chain with a spike at 0 ms."""
    p.setup(timestep=1.0, quiet=True)
    src = p.Population(2, p.SpikeSourceArray, {"spike_times": [[0.0, 3.0], [0.0, 0.2]]})
    src.record("spikes")
    p.run(5)
    assert [list(t) for t in spikes_of(src)] == [[1.0, 3.0], [1.0, 1.0]]
    p.end()


def _poisson_run(seeds, rng_seed=1, n_ranks=None, gamma=False, fused=False):
    """Two or more Poisson sources (seeded as ``seeds``: None or an int) and
    their spikes; ``fused``: each drives a neuron one-to-one (generated next
    to its target, spinn.fusion); ``gamma``: also gamma sources, same seeds."""
    p.setup(timestep=1.0, rng_seed=rng_seed, n_virtual_ranks=n_ranks, quiet=True)
    p.set_number_of_neurons_per_core(p.SpikeSourcePoisson, 16)
    pops = []
    for i, seed in enumerate(seeds):
        extra = {} if seed is None else {"seed": seed}
        src = p.Population(40, p.SpikeSourcePoisson(rate=60.0), label=f"src{i}", **extra)
        src.record("spikes")
        pops.append(src)
        if gamma:
            g = p.Population(40, p.extra_models.SpikeSourceGamma(alpha=3.0, beta=80.0),
                             label=f"gamma{i}", additional_parameters=extra)
            g.record("spikes")
            pops.append(g)
        if fused:
            target = p.Population(40, p.IF_curr_exp(), label=f"target{i}")
            p.Projection(src, target, p.OneToOneConnector(), p.StaticSynapse(weight=1.0))
    p.run(200)
    out = [spikes_of(pop) for pop in pops]
    p.end()
    return out


def test_population_seed_makes_poisson_spikes_reproducible():
    a, b = _poisson_run([42, 42])
    assert sum(t.size for t in a) > 100
    assert not same_trains(a, b)               # same seed, different populations
    c, d = _poisson_run([42, 42], rng_seed=999)
    assert same_trains(a, c) and same_trains(b, d)     # independent of the network seed
    e, f = _poisson_run([None, 43], rng_seed=999)
    g, h = _poisson_run([None, 43], rng_seed=1000)
    assert not same_trains(e, g)               # unseeded: follows the network seed
    assert same_trains(f, h)
    assert not same_trains(a, _poisson_run([43, 42])[0])   # another seed, other spikes


def test_population_seed_is_rank_invariant():
    one = _poisson_run([5, None, 5], gamma=True, fused=True, n_ranks=1)
    two = _poisson_run([5, None, 5], gamma=True, fused=True, n_ranks=2)
    three = _poisson_run([5, None, 5], gamma=True, fused=True, n_ranks=3)
    for x, y, z in zip(one, two, three):
        assert sum(t.size for t in x) > 50
        assert same_trains(x, y) and same_trains(x, z)


def test_population_seed_keys_random_parameters_and_initial_values():
    def values(seed, rng_seed):
        p.setup(timestep=1.0, rng_seed=rng_seed, quiet=True)
        dist = p.RandomDistribution("uniform", low=-65.0, high=-55.0)
        a = p.Population(20, p.IF_curr_exp(tau_m=p.RandomDistribution("uniform", low=10.0,
                                                                        high=20.0)),
                         initial_values={"v": dist}, additional_parameters={"seed": seed})
        b = p.Population(20, p.IF_curr_exp(), seed=seed)
        b.initialize(v=dist)
        index = np.arange(20)         # the engine's values (what the cells start from)
        out = (take(a._spec.params["tau_m"], index), take(a._spec.initial["v"], index),
               take(b._spec.initial["v"], index))
        p.end()
        return out
    x, y = values(7, 1), values(7, 2)
    for u, v in zip(x, y):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(x[1], x[2])          # same seed, other population
    assert not np.array_equal(x[1], values(8, 1)[1])


# -- gsyn of current-based cells --------------------------------------------------------

def test_gsyn_records_the_synaptic_currents_of_current_based_cells():
    p.setup(timestep=1.0, quiet=True)
    src = p.Population(1, p.SpikeSourceArray(spike_times=[5.0]))
    pop = p.Population(1, p.IF_curr_exp(tau_syn_E=5.0, tau_syn_I=5.0))
    p.Projection(src, pop, p.OneToOneConnector(), p.StaticSynapse(weight=2.0, delay=1.0))
    p.Projection(src, pop, p.OneToOneConnector(), p.StaticSynapse(weight=0.5, delay=1.0),
                 receptor_type="inhibitory")
    pop.record(["gsyn_exc", "gsyn_inh", "v"])
    p.run(20)
    seg = pop.get_data().segments[0]
    exc = seg.filter(name="gsyn_exc")[0]
    inh = seg.filter(name="gsyn_inh")[0]
    assert str(exc.units.dimensionality) == "nA"
    assert exc.magnitude.max() == pytest.approx(2.0)
    assert inh.magnitude.min() == pytest.approx(-0.5)      # inhibitory current
    peak = int(np.argmax(exc.magnitude[:, 0]))
    assert exc.magnitude[peak + 1, 0] == pytest.approx(2.0 * np.exp(-1.0 / 5.0))
    p.end()


def test_standard_api_still_refuses_gsyn_on_current_based_cells():
    spinn.setup(timestep=1.0, quiet=True)
    pop = spinn.Population(1, spinn.IF_curr_exp())
    with pytest.raises(Exception, match="gsyn_exc"):
        pop.record("gsyn_exc")
    spinn.end()


# -- positive inhibitory weights ----------------------------------------------------------

def _inhibition(sim, weight, connector=None, **synapse):
    sim.setup(timestep=1.0, quiet=True)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[3.0, 8.0]))
    pop = sim.Population(2, sim.IF_curr_exp(i_offset=0.5))
    prj = sim.Projection(src, pop, connector or sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=weight, delay=1.0, **synapse),
                         receptor_type="inhibitory")
    pop.record("v")
    sim.run(20)
    v = np.asarray(pop.get_data("v").segments[0].analogsignals[0].magnitude)
    return prj, v


def test_positive_inhibitory_weights_are_inhibitory_in_compat():
    prj, v = _inhibition(p, 0.7)
    assert np.unique(prj.get("weight", format="array")).tolist() == [0.7]
    assert prj.get("weight", format="list", with_address=False)[0] == 0.7
    prj.set(weight=0.3)
    assert np.unique(prj.get("weight", format="array")).tolist() == [0.3]
    p.end()
    _, v_standard = _inhibition(spinn, -0.7)
    spinn.end()
    np.testing.assert_array_equal(v, v_standard)
    _, v_negative = _inhibition(p, -0.7)          # standard convention: taken as given
    p.end()
    np.testing.assert_array_equal(v_negative, v_standard)


def test_positive_inhibitory_weights_from_lists_and_distributions():
    conn = p.FromListConnector([(0, 0, 0.7, 1.0), (0, 1, 0.7, 1.0), (1, 0, 0.7, 1.0),
                                (1, 1, 0.7, 1.0)])
    prj, v_list = _inhibition(p, 0.0, connector=conn)
    assert sorted(w for w in prj.get("weight", format="list", with_address=False)) == [0.7] * 4
    p.end()
    assert conn.conn_list[0, 2] == 0.7                 # the user's list is not changed
    _, v_standard = _inhibition(spinn, -0.7)
    spinn.end()
    np.testing.assert_array_equal(v_list, v_standard)
    prj, _ = _inhibition(p, p.RandomDistribution("uniform", low=0.2, high=0.4))
    w = prj.get("weight", format="array")
    assert (w >= 0.2).all() and (w <= 0.4).all()
    p.end()


def test_mixed_inhibitory_signs_and_standard_api_positive_weights_are_refused():
    with pytest.raises(NetworkError, match="mixed signs"):
        _inhibition(p, np.array([[0.5, -0.5], [0.5, 0.5]]))
    p.end()
    with pytest.raises(NetworkError, match="positive"):
        _inhibition(spinn, 0.7)
    spinn.end()


# -- extra_models, external_devices, missing names -------------------------------------

def test_extra_models_and_external_devices():
    assert p.extra_models.IF_curr_delta is spinn.IF_curr_delta
    assert p.extra_models.SpikeNearestPairRule is spinn.SpikeNearestPairRule
    with pytest.raises(NotImplementedError, match="IF_curr_dual_exp.*dual-exponential"):
        p.extra_models.IF_curr_dual_exp
    assert p.external_devices.SpikeInjector is spinn.live.SpikeInjector
    assert p.external_devices.activate_live_output_for is spinn.live.activate_live_output_for
    assert p.external_devices.SpynnakerLiveSpikesConnection is spinn.live.LiveSpikesConnection
    with pytest.raises(NotImplementedError, match="run_forever.*until stopped"):
        p.external_devices.run_forever
    with pytest.raises(NotImplementedError, match="structural plasticity"):
        p.StructuralMechanismSTDP
    with pytest.raises(AttributeError):
        p.extra_models.NoSuchModel
    assert p.SpiNNakerProjection is p.Projection
    assert p.MultapseConnector is spinn.FixedTotalNumberConnector


def test_izhikevich_is_spinnakers_current_based_model():
    p.setup(timestep=1.0, quiet=True)
    src = p.Population(1, p.SpikeSourceArray(spike_times=[2.0]))
    pop = p.Population(1, p.Izhikevich(tau_syn_E=4.0))
    p.Projection(src, pop, p.OneToOneConnector(), p.StaticSynapse(weight=5.0, delay=1.0))
    pop.record(["v", "gsyn_exc"])
    p.run(10)
    g = pop.get_data("gsyn_exc").segments[0].analogsignals[0].magnitude
    assert g.max() == pytest.approx(5.0)
    p.end()


# -- import pyNN.spiNNaker, whole scripts --------------------------------------------

def _python(code, env_extra, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), SPINN_QUIET="1")
    env.pop("SPINN_SPINNAKER_COMPAT", None)
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)


def test_pyNN_spiNNaker_only_on_request(tmp_path):
    code = "import pyNN.spiNNaker as p, spinn.compat; print(p is spinn.compat, p.name())"
    off = _python(code, {}, tmp_path)
    # PyNN's own pyNN/spiNNaker.py (which imports sPyNNaker), not spinn
    assert off.returncode != 0 and "spynnaker" in off.stderr
    on = _python(code, {"SPINN_SPINNAKER_COMPAT": "1"}, tmp_path)
    assert on.returncode == 0, on.stderr
    assert on.stdout.split() == ["True", "spinn", "(sPyNNaker", "compatible)"]
    standard = _python("import pyNN.spinn, spinn; print(pyNN.spinn is spinn)",
                       {"SPINN_SPINNAKER_COMPAT": "1"}, tmp_path)
    assert standard.stdout.strip() == "True"


SCRIPT = textwrap.dedent("""
    # A small network in sPyNNaker's style, using most of the dialect at once.
    import sys
    import numpy
    import pyNN.spiNNaker as p

    p.setup(timestep=1.0, min_delay=1.0, max_delay=144.0, n_boards_required=1,
            time_scale_factor=1)
    p.set_number_of_neurons_per_core(p.IF_curr_exp, 32)
    p.set_allow_delay_extensions(p.IF_curr_exp, False)
    noise = p.Population(100, p.SpikeSourcePoisson, {"rate": 20.0}, label="noise",
                         additional_parameters={"seed": 17})
    exc = p.Population(80, p.IF_curr_exp, {"tau_syn_E": 5.0, "tau_syn_I": 5.0},
                       label="exc", seed=3)
    inh = p.Population(20, p.IF_curr_exp, label="inh")
    exc.initialize(v=p.RandomDistribution("uniform", low=-65.0, high=-55.0))
    rng = p.NumpyRNG(seed=11)
    p.Projection(noise, exc, p.FixedProbabilityConnector(0.1, rng=rng),
                 p.StaticSynapse(weight=1.5, delay=1.0), receptor_type="excitatory")
    p.Projection(noise, inh, p.FixedProbabilityConnector(0.1, rng=rng),
                 p.StaticSynapse(weight=1.5, delay=1.0))
    p.Projection(exc, inh, p.FixedProbabilityConnector(0.2, rng=rng),
                 p.StaticSynapse(weight=0.5, delay=2.0))
    p.Projection(inh, exc, p.FixedProbabilityConnector(0.2, rng=rng),
                 p.StaticSynapse(weight=1.0, delay=1.0), receptor_type="inhibitory")
    exc.record(["spikes", "v", "gsyn_exc", "gsyn_inh"])
    inh.record("spikes")
    p.run(200)
    spikes = exc.spinnaker_get_data("spikes")
    gsyn = exc.get_data("gsyn_inh").segments[0].analogsignals[0]
    numpy.save(sys.argv[1], spikes)
    print(p.name(), len(spikes), len(inh.spinnaker_get_data("spikes")),
          float(numpy.min(gsyn.magnitude)))
    p.end()
""")


def test_spinnaker_script_runs_and_is_rank_invariant(tmp_path):
    script = tmp_path / "network.py"
    script.write_text(SCRIPT)
    results = []
    for n in (1, 2):
        out = subprocess.run([sys.executable, str(script), str(tmp_path / f"s{n}.npy")],
                             capture_output=True, text=True, cwd=tmp_path, timeout=300,
                             env=dict(os.environ, PYTHONPATH=str(ROOT), SPINN_QUIET="1",
                                      SPINN_SPINNAKER_COMPAT="1",
                                      SPINN_VIRTUAL_RANKS=str(n)))
        assert out.returncode == 0, out.stderr
        results.append(np.load(tmp_path / f"s{n}.npy"))
        words = out.stdout.split()
        assert " ".join(words[:3]) == "spinn (sPyNNaker compatible)"
        assert int(words[3]) > 20 and int(words[4]) > 5
        assert float(words[5]) < 0                   # inhibition arrived, as a current
    np.testing.assert_array_equal(results[0], results[1])


def test_spinn_run_spinnaker_compat_sets_the_switch(tmp_path, monkeypatch):
    from launch import cli
    seen = {}
    monkeypatch.setattr(cli, "run_job", lambda line, env, **kw: seen.update(env) or 0)
    script = tmp_path / "s.py"
    script.write_text("import pyNN.spiNNaker\n")
    assert cli.main(["run", "-n", "1", "--spinnaker-compat", str(script)]) == 0
    assert seen["SPINN_SPINNAKER_COMPAT"] == "1"
    seen.clear()
    assert cli.main(["run", "-n", "1", str(script)]) == 0
    assert seen.get("SPINN_SPINNAKER_COMPAT") != "1"


def test_population_seed_is_part_of_the_description_and_of_rank_images(tmp_path):
    from spinn.image import read_rank_image, save_rank_image
    from spinn.pynn.simulator import state
    from spinn.rng import population_seed
    digests = []
    for seed in (1, 2, None):
        p.setup(timestep=1.0, quiet=True)
        p.Population(4, p.SpikeSourcePoisson(rate=10.0), seed=seed)
        digests.append(state.network.freeze().digest)
        if seed == 1:
            p.run(1)
            image = state.simulation.images[0]
            assert image.population_seeds == ((0, population_seed(1, 0)),)
            save_rank_image(image, str(tmp_path / "rank0.img"))
            assert read_rank_image(str(tmp_path / "rank0.img")).population_seeds == \
                image.population_seeds
        p.end()
    assert len(set(digests)) == 3


def test_spinnaker_live_script_injects_and_receives():
    """sPyNNaker's live pattern through ``external_devices``: a SpikeInjector
    and a live output, one connection in the script's own process that sends
    when the run starts and receives the output spikes."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    received, conn = [], None
    p.setup(timestep=1.0)
    try:
        inj = p.Population(10, p.external_devices.SpikeInjector(database_notify_port_num=port),
                           label="inj")
        out = p.Population(10, p.IF_curr_exp(), label="out")
        p.Projection(inj, out, p.OneToOneConnector(), p.StaticSynapse(weight=5.0, delay=1.0))
        out.record("spikes")
        p.external_devices.activate_live_output_for(out, database_notify_port_num=port,
                                                    port=port)
        conn = p.external_devices.SpynnakerLiveSpikesConnection(
            receive_labels=["out"], send_labels=["inj"], local_port=port)
        conn.add_start_resume_callback("inj", lambda label, c: c.send_spikes(label, [0, 3, 7]))
        conn.add_receive_callback("out", lambda label, t, ids: received.append((t, list(ids))))
        p.run(200)
        trains = out.get_data("spikes").segments[0].spiketrains
        recorded = [(float(t), i) for i, st in enumerate(trains) for t in st.magnitude]
        assert sorted(i for _, i in recorded) == [0, 3, 7]
        live = sorted((float(t), int(i)) for t, ids in received for i in ids)
        assert live == sorted(recorded)          # what the client got is what was recorded
    finally:
        p.end()
        if conn is not None:
            conn.close()
