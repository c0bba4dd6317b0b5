"""Every value is checked at the call that sets it (spinn.validation): one
NetworkError naming the object, the parameter and the value.

(Errors of weights' signs, delays below the timestep, unsorted spike times and
the like are in test_errors.py.)
"""
import math
import warnings

import numpy as np
import pytest

import spinn as sim
from spinn.errors import NetworkError
from spinn.network import NetworkDraft, PopulationSpec
from spinn.synapses import MAX_DELAY_STEPS
from spinn.validation import RULES
from spinn.values import NEURON_BLOCK, take

NAN, INF = float("nan"), float("inf")


@pytest.fixture
def fresh():
    sim.setup(timestep=0.1, quiet=True)
    yield
    sim.end()


def refused(match, call, *args, **kwargs):
    """``call`` raises one NetworkError whose message matches every part of ``match``."""
    with pytest.raises(NetworkError) as info:
        call(*args, **kwargs)
    for part in match:
        assert part in str(info.value), f"{part!r} not in {str(info.value)!r}"
    return info.value


# -- cell parameters at Population() --------------------------------------------------

BAD_PARAMETERS = [
    # (cell type, parameter, value, what the message says)
    ("IF_curr_exp", "tau_m", NAN, "tau_m = nan ms is not a finite number"),
    ("IF_curr_exp", "tau_m", -5.0, "tau_m = -5 ms must be > 0"),
    ("IF_curr_exp", "tau_m", 0.0, "tau_m = 0 ms must be > 0"),
    ("IF_curr_exp", "tau_refrac", -2.0, "tau_refrac = -2 ms is negative"),
    ("IF_curr_exp", "tau_syn_E", 0.0, "tau_syn_E = 0 ms must be > 0"),
    ("IF_curr_exp", "cm", 0.0, "cm = 0 nF must be > 0"),
    ("IF_curr_exp", "v_rest", INF, "v_rest = inf mV is not a finite number"),
    ("IF_curr_exp", "i_offset", -INF, "i_offset = -inf nA is not a finite number"),
    ("IF_curr_alpha", "tau_syn_I", INF, "tau_syn_I = inf ms is not a finite number"),
    ("IF_curr_alpha", "cm", -1.0, "cm = -1 nF must be > 0"),
    ("IF_curr_delta", "tau_refrac", NAN, "tau_refrac = nan ms is not a finite number"),
    ("IF_cond_exp", "e_rev_E", NAN, "e_rev_E = nan mV is not a finite number"),
    ("IF_cond_exp", "tau_syn_I", -1.0, "tau_syn_I = -1 ms must be > 0"),
    ("IF_cond_alpha", "tau_m", 0.0, "tau_m = 0 ms must be > 0"),
    ("Izhikevich", "a", INF, "a = inf is not a finite number"),
    ("Izhikevich", "d", NAN, "d = nan is not a finite number"),
    ("EIF_cond_exp_isfa_ista", "tau_w", 0.0, "tau_w = 0 ms must be > 0"),
    ("EIF_cond_exp_isfa_ista", "delta_T", -1.0, "delta_T = -1 mV is negative"),
    ("EIF_cond_alpha_isfa_ista", "cm", NAN, "cm = nan nF is not a finite number"),
    ("HH_cond_exp", "gbar_Na", -1.0, "gbar_Na = -1 uS is negative"),
    ("HH_cond_exp", "cm", 0.0, "cm = 0 nF must be > 0"),
    ("SpikeSourcePoisson", "rate", -5.0, "rate = -5 Hz is negative"),
    ("SpikeSourcePoisson", "rate", NAN, "rate = nan Hz is not a finite number"),
    ("SpikeSourcePoisson", "start", -1.0, "start = -1 ms is negative"),
    ("SpikeSourcePoisson", "duration", INF, "duration = inf ms is not a finite number"),
    ("SpikeSourceGamma", "alpha", 0.0, "alpha = 0 must be > 0"),
    ("SpikeSourceGamma", "beta", -1.0, "beta = -1 Hz is negative"),
    ("SpikeSourcePoissonRefractory", "tau_refrac", -1.0, "tau_refrac = -1 ms is negative"),
]


@pytest.mark.parametrize("model,name,value,says", BAD_PARAMETERS)
def test_bad_cell_parameter_refused_at_population(fresh, model, name, value, says):
    celltype = getattr(sim, model)(**{name: value})
    refused([f"Population 'bad' ({model})", says], sim.Population, 3, celltype, label="bad")
    assert not sim.state.network.populations and sim.state.id_counter == 0   # nothing left


def test_izhikevich_curr_exp(fresh):
    refused(["Population 'izh'", "tau_syn_E = -1 ms must be > 0"], sim.Population, 2,
            sim.extra_models.Izhikevich_curr_exp(tau_syn_E=-1.0), label="izh")


def test_every_engine_model_has_rules():
    from spinn.models import MODELS
    assert set(MODELS) == set(RULES)


@pytest.mark.parametrize("model,params,says", [
    ("IF_curr_exp", dict(v_thresh=-70.0, v_reset=-60.0),
     "v_reset = -60 mV must be below v_thresh = -70 mV"),
    ("IF_curr_exp", dict(v_thresh=-60.0, v_reset=-60.0),
     "v_reset = -60 mV must be below v_thresh = -60 mV"),
    ("IF_curr_delta", dict(v_thresh=-70.0, v_reset=-60.0), "v_reset = -60 mV"),
    ("IF_curr_alpha", dict(v_thresh=-70.0, v_reset=-60.0), "v_reset = -60 mV"),
    ("IF_cond_exp", dict(v_thresh=-70.0, v_reset=-60.0), "v_reset = -60 mV"),
    ("IF_cond_alpha", dict(v_thresh=-70.0, v_reset=-60.0), "v_reset = -60 mV"),
    ("EIF_cond_exp_isfa_ista", dict(v_reset=-30.0), "v_reset = -30 mV"),
    ("EIF_cond_exp_isfa_ista", dict(v_spike=-60.0), "v_spike = -60 mV"),
    ("EIF_cond_alpha_isfa_ista", dict(delta_T=1e-6), "exp() would overflow"),
    ("SpikeSourcePoissonRefractory", dict(rate=500.0, tau_refrac=5.0),
     "rate = 500 Hz is too high for tau_refrac = 5 ms"),
])
def test_relations_between_parameters(fresh, model, params, says):
    refused([f"Population 'rel' ({model})", says], sim.Population, 2,
            getattr(sim, model)(**params), label="rel")


def test_valid_edge_values_run(fresh):
    """Zero refractory periods, tau_syn == tau_m, an AdEx reset above its
    threshold (bursting) and zero rates are all fine."""
    a = sim.Population(2, sim.IF_curr_exp(tau_refrac=0.0, tau_syn_E=20.0, i_offset=2.0))
    b = sim.Population(2, sim.EIF_cond_exp_isfa_ista(v_reset=-45.0, v_thresh=-50.4))
    c = sim.Population(2, sim.SpikeSourcePoisson(rate=0.0, duration=0.0))
    d = sim.Population(2, sim.EIF_cond_exp_isfa_ista(delta_T=0.0, v_spike=-60.0))
    for p in (a, b, c, d):
        p.record("spikes")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        sim.run(20.0)
    assert len(a.get_data().segments[0].spiketrains[0]) > 0


def test_per_neuron_values_name_the_neuron(fresh):
    refused(["Population 'arr' (IF_curr_exp)", "tau_m = -1 ms (neuron 1) must be > 0"],
            sim.Population, 3, sim.IF_curr_exp(tau_m=[10.0, -1.0, 10.0]), label="arr")
    refused(["Population 'arr2'", "v_reset = -40 mV must be below v_thresh = -50 mV "
             "(a neuron reset at or above its threshold would fire in every step; NEST "
             "refuses this too) (neuron 2)"],
            sim.Population, 3, sim.IF_curr_exp(v_reset=[-70.0, -70.0, -40.0]), label="arr2")


# -- set(), initialize() ----------------------------------------------------------------

def test_set_refuses_and_keeps_the_old_value(fresh):
    pop = sim.Population(4, sim.IF_curr_exp(), label="cells")
    refused(["Population 'cells' (IF_curr_exp)", "tau_m = -1 ms must be > 0"],
            pop.set, tau_m=-1.0)
    refused(["Population 'cells'", "v_reset = -40 mV must be below v_thresh = -50 mV"],
            pop.set, v_reset=-40.0)
    refused(["Population 'cells'", "cm = 0 nF (neuron 1) must be > 0"],
            pop[1:2].set, cm=0.0)
    assert pop.get("tau_m") == 20.0 and pop.get("v_reset") == -65.0
    assert pop.get("cm") == 1.0
    pop.record("v")
    sim.run(1.0)
    refused(["Population 'cells'", "tau_syn_E = nan ms"], pop.set, tau_syn_E=NAN)
    sim.run(1.0)                                    # the simulation goes on
    assert np.all(np.isfinite(pop.get_data().segments[0].analogsignals[0]))


def test_initialize_refuses_non_finite_values(fresh):
    pop = sim.Population(3, sim.IF_curr_exp(), label="init")
    refused(["Population 'init' (IF_curr_exp)", "initial value of v = nan mV is not a "
             "finite number"], pop.initialize, v=NAN)
    refused(["Population 'init'", "initial value of isyn_exc = inf nA (neuron 2)"],
            pop.initialize, isyn_exc=np.array([0.0, 0.0, INF]))
    pop.record("v")
    sim.run(1.0)
    refused(["Population 'init'", "initial value of v = -inf mV"], pop.initialize, v=-INF)
    assert np.all(np.isfinite(pop.get_data().segments[0].analogsignals[0]))


def test_failed_population_leaves_nothing_behind(fresh):
    refused(["Population 'ghost'", "initial value of v = nan mV"], sim.Population, 5,
            sim.IF_curr_exp(), initial_values={"v": NAN}, label="ghost")
    refused(["Population 'empty'", "size 0 must be a whole number >= 1"], sim.Population, 0,
            sim.IF_curr_exp(), label="empty")
    refused(["Population 'negative'", "size -3"], sim.Population, -3, sim.IF_curr_exp(),
            label="negative")
    pop = sim.Population(2, sim.IF_curr_exp(i_offset=2.0), label="real")
    assert int(pop[0]) == 0 and [p.label for p in sim.state.populations] == ["real"]
    pop.record("spikes")
    sim.run(20.0)
    assert len(pop.get_data().segments[0].spiketrains) == 2


# -- random values ------------------------------------------------------------------------

def test_random_parameter_checked_where_drawn(fresh):
    dist = sim.RandomDistribution("normal", mu=-20.0, sigma=1.0)
    refused(["Population 'rnd' (IF_curr_exp)", "tau_m = -", "ms (neuron 0) must be > 0"],
            sim.Population, 10, sim.IF_curr_exp(tau_m=dist), label="rnd")


def test_random_parameter_past_the_first_block_checked_at_build(fresh):
    """A RandomDistribution's values past the first block are drawn by the
    ranks: the first bad one is refused at build, named with its neuron."""
    size = 60 * NEURON_BLOCK
    pop = sim.Population(size, sim.IF_curr_exp(tau_m=sim.RandomDistribution(
        "normal", mu=20.0, sigma=5.0)), label="wide")
    tau = take(pop._spec.params["tau_m"], np.arange(size))
    first_bad = int(np.flatnonzero(tau <= 0)[0])
    assert first_bad >= NEURON_BLOCK                   # the draft's check could not see it
    refused(["Population 'wide' (IF_curr_exp)", f"(neuron {first_bad}) must be > 0",
             f"tau_m = {tau[first_bad]:g} ms"], sim.run, 1.0)


@pytest.mark.parametrize("params,says", [
    (dict(mu=NAN, sigma=1.0), "its parameter mu is not finite"),
    (dict(mu=1.0, sigma=INF), "its parameter sigma is not finite"),
])
def test_distribution_with_bad_parameters(fresh, params, says):
    dist = sim.RandomDistribution("normal", **params)
    refused(["Population 'd'", "tau_m = RandomDistribution('normal'", says],
            sim.Population, 3, sim.IF_curr_exp(tau_m=dist), label="d")
    pop = sim.Population(3, sim.IF_curr_exp(), label="e")
    refused(["Population 'e'", "v_rest = RandomDistribution('normal'", says], pop.set,
            v_rest=dist)
    src = sim.Population(3, sim.SpikeSourcePoisson(rate=10.0))
    refused(["Projection 'p'", "weight = RandomDistribution('normal'", says],
            sim.Projection, src, pop, sim.AllToAllConnector(),
            sim.StaticSynapse(weight=dist), label="p")


# -- spike times, synapses ------------------------------------------------------------------

def test_negative_spike_times(fresh):
    refused(["Population 'times' (SpikeSourceArray)", "spike time -1 ms must be a finite "
             "number >= 0"], sim.Population, 2, sim.SpikeSourceArray(spike_times=[-1.0, 3.0]),
            label="times")
    pop = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0, 3.0]), label="times2")
    refused(["Population 'times2'", "spike time -0.5 ms"], pop.set,
            spike_times=[sim.Sequence([2.0]), sim.Sequence([-0.5, 1.0])])


@pytest.mark.parametrize("synapse,says", [
    (dict(weight=NAN), "weight nan is not finite"),
    (dict(weight=INF), "weight inf is not finite"),
    (dict(delay=NAN), "delay nan ms is not finite"),
    (dict(delay=INF), "delay inf ms is not finite"),
    (dict(delay=1e9), f"delay 1e+09 ms is 10000000000 steps; spinn keeps delays of up to "
                      f"{MAX_DELAY_STEPS} steps"),
])
def test_bad_synapse_values(fresh, synapse, says):
    src = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
    dst = sim.Population(2, sim.IF_curr_exp())
    refused(["Projection 'syn'", says], sim.Projection, src, dst, sim.AllToAllConnector(),
            sim.StaticSynapse(**synapse), label="syn")


def test_projection_set_refuses_non_finite(fresh):
    src = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
    dst = sim.Population(2, sim.IF_curr_exp())
    prj = sim.Projection(src, dst, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1),
                         label="later")
    refused(["Projection 'later'", "weight nan is not finite"], prj.set, weight=NAN)
    refused(["Projection 'later'", "delay inf ms is not finite"], prj.set, delay=INF)
    sim.run(1.0)
    assert np.all(prj.get("weight", format="array") == 0.1)


# -- current sources ------------------------------------------------------------------------

@pytest.mark.parametrize("source,params,says", [
    ("DCSource", dict(amplitude=NAN), "amplitude = nan nA is not a finite number"),
    ("DCSource", dict(stop=INF), "stop = inf ms is not a finite number"),
    ("DCSource", dict(start=-1.0), "start = -1 ms is negative"),
    ("DCSource", dict(start=10.0, stop=5.0), "stop = 5 ms must not be before start = 10 ms"),
    ("ACSource", dict(frequency=INF), "frequency = inf Hz is not a finite number"),
    ("ACSource", dict(frequency=-1.0), "frequency = -1 Hz is negative"),
    ("ACSource", dict(phase=NAN), "phase = nan deg is not a finite number"),
    ("NoisyCurrentSource", dict(stdev=-1.0), "stdev = -1 nA is negative"),
    ("NoisyCurrentSource", dict(mean=INF), "mean = inf nA is not a finite number"),
    ("StepCurrentSource", dict(times=[1.0, NAN], amplitudes=[0.1, 0.2]),
     "times = nan ms (entry 1) is not a finite number"),
    ("StepCurrentSource", dict(times=[1.0, 2.0], amplitudes=[0.1, INF]),
     "amplitudes = inf nA (entry 1) is not a finite number"),
])
def test_bad_current_source_parameters(fresh, source, params, says):
    refused([source, says], getattr(sim, source), **params)


def test_current_source_change_refused_and_kept(fresh):
    pop = sim.Population(1, sim.IF_curr_exp(), label="driven")
    dc = sim.DCSource(amplitude=0.5, start=0.0, stop=50.0)
    dc.inject_into(pop)
    with pytest.raises(NetworkError, match="DCSource: amplitude = nan nA"):
        dc.amplitude = NAN
    assert dc.amplitude == 0.5
    pop.record("v")
    sim.run(5.0)
    assert np.all(np.isfinite(pop.get_data().segments[0].analogsignals[0]))


# -- run times, setup ----------------------------------------------------------------------

@pytest.mark.parametrize("call,value,says", [
    ("run", NAN, "run(nan): the time must be a finite number of ms >= 0"),
    ("run", INF, "run(inf)"),
    ("run", -100, "run(-100.0): the time must be a finite number of ms >= 0"),
    ("run_until", NAN, "run_until(nan)"),
    ("run_until", -INF, "run_until(-inf)"),
])
def test_bad_run_times(fresh, call, value, says):
    sim.Population(1, sim.IF_curr_exp())
    refused([says], getattr(sim, call), value)
    assert sim.get_current_time() == 0.0


def test_run_until_the_past(fresh):
    sim.Population(1, sim.IF_curr_exp())
    sim.run(10.0)
    refused(["run_until(5.0): 5 ms is before the current time 10 ms"], sim.run_until, 5.0)
    sim.run_until(10.0)             # now is not the past
    sim.run(0.0)
    assert sim.get_current_time() == 10.0


def test_setup_timestep_must_be_finite():
    for dt in (INF, NAN, 0.0, -0.1):
        with pytest.raises(ValueError, match="timestep must be a finite number > 0"):
            sim.setup(timestep=dt)


# -- get_data before a run -------------------------------------------------------------------

def test_get_data_before_any_run_gives_the_initial_state(fresh):
    """pyNN.mock (PyNN's reference backend) raises IndexError here; spinn gives
    the state at t = 0: no spikes, one sample of each signal (the initial value)."""
    pop = sim.Population(3, sim.IF_curr_exp(), initial_values={"v": -60.0}, label="early")
    pop.record(["spikes", "v"])
    seg = pop.get_data().segments[0]
    assert [len(st) for st in seg.spiketrains] == [0, 0, 0]
    v = seg.filter(name="v")[0]
    assert v.shape == (1, 3) and np.all(v.magnitude == -60.0)


# -- the engine alone --------------------------------------------------------------------------

def test_draft_checks_without_pynn():
    draft = NetworkDraft(dt_ms=0.1)
    good = dict(tau_m=20.0, cm=1.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0,
                tau_refrac=0.1, i_offset=0.0, tau_syn_E=5.0, tau_syn_I=5.0)
    with pytest.raises(NetworkError, match="Population 'raw' \\(IF_curr_exp\\): cm = -1 nF"):
        draft.add("populations", PopulationSpec(0, "raw", 4, "IF_curr_exp", 0,
                                                params={**good, "cm": -1.0}))
    draft.add("populations", PopulationSpec(0, "raw", 4, "IF_curr_exp", 0, params=good))
    with pytest.raises(NetworkError, match="tau_syn_I = 0 ms"):
        draft.replace("populations", 0, params={**good, "tau_syn_I": 0.0})
    assert draft.populations[0].params["tau_syn_I"] == 5.0
    assert math.isclose(draft.populations[0].params["tau_m"], 20.0)


def test_noisy_source_interval_off_the_grid_is_a_network_error(fresh):
    """Found by the property tests: a plain ValueError from spinn's own code."""
    refused(["NoisyCurrentSource: dt = 0.05 ms must be a multiple of the timestep 0.1 ms"],
            sim.NoisyCurrentSource, dt=0.05)
