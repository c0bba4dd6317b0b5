"""The contract every cell group in ``spinn.models.MODELS`` keeps (see the
interface in ``spinn/models/__init__.py``), checked on every model at once."""
import numpy as np
import pytest
from pyNN.standardmodels import cells

from spinn.models import MODELS
from spinn.values import SpikeTimes

DT = 0.1
N = 5
ALL = sorted(MODELS)
NEURONS = [name for name in ALL if not MODELS[name].is_source]
#: parameters given to a group's constructor rather than through ``params``
CONSTRUCTOR_ARGUMENTS = {"SpikeSourceArray": {"spike_times"}}


def pynn_type(name):
    """The PyNN cell type declaring the model (spinn.extra_models for the
    non-standard ones, spinn.live for the SpikeInjector)."""
    from spinn import live
    from spinn.pynn import extra_models
    return (getattr(cells, name, None) or getattr(extra_models, name, None)
            or getattr(live, name))


#: models whose engine parameters are not PyNN's names one to one: GIF_cond_exp's
#: array parameters are one engine parameter per component (tau_eta_0, ...)
FLATTENED = {"GIF_cond_exp"}


def engine_defaults(name):
    """The engine's parameter names with PyNN's default values: PyNN's own, or
    (FLATTENED) the native parameters of spinn's cell type."""
    if name in FLATTENED:
        from spinn.pynn import standardmodels
        ps = getattr(standardmodels, name)().native_parameters
        return {p: float(ps[p].base_value) for p in ps.keys()}
    pynn = pynn_type(name)
    names = set(pynn.default_parameters) - CONSTRUCTOR_ARGUMENTS.get(name, set())
    return {p: float(pynn.default_parameters[p]) for p in names}


def default_params(name, n=N, **overrides):
    params = {p: np.full(n, value) for p, value in engine_defaults(name).items()}
    params.update({p: np.broadcast_to(np.asarray(v, float), (n,)).copy()
                   for p, v in overrides.items()})
    return params


def default_initial(name, n=N, **overrides):
    values = dict(pynn_type(name).default_initial_values, **overrides)
    return {v: np.broadcast_to(np.asarray(x, float), (n,)).copy() for v, x in values.items()}


def build(name, gids=None, params=None, initial=None, seed=7):
    gids = np.arange(N, dtype=np.int64) if gids is None else gids
    n = gids.size
    return MODELS[name](gids, default_params(name, n) if params is None else params,
                        default_initial(name, n) if initial is None else initial, DT, seed)


def drive(name, n, k):
    """Synaptic input of step ``k`` with the sign conventions of the engine:
    excitatory >= 0; inhibitory < 0 for current/voltage-based cells, > 0 (µS)
    for conductance-based ones. Different per neuron, some steps silent."""
    pynn = pynn_type(name)
    scale = 0.01 if pynn.conductance_based else 2.0
    inh_sign = 1.0 if pynn.conductance_based else -1.0
    i = np.arange(n)
    on = (k + i) % 7 == 0
    return np.where(on, scale * (1 + i % 3), 0.0), np.where(on & (i % 2 == 0),
                                                           inh_sign * scale, 0.0)


@pytest.mark.parametrize("name", ALL)
def test_parameters_are_pynn_defaults(name):
    """Every PyNN default parameter reaches the group and no other name is asked
    for (the engine evaluates exactly ``parameter_names()`` per population)."""
    cls = MODELS[name]
    assert set(cls.parameter_names()) == set(engine_defaults(name))
    if name not in FLATTENED:
        expected = (set(pynn_type(name).default_parameters)
                    - CONSTRUCTOR_ARGUMENTS.get(name, set()))
        assert set(cls.parameter_names()) == expected
    assert len(set(cls.parameter_names())) == len(cls.parameter_names())


@pytest.mark.parametrize("name", ALL)
def test_states_are_pynn_initial_values(name):
    cls = MODELS[name]
    assert set(cls.state_names()) == set(pynn_type(name).default_initial_values)


@pytest.mark.parametrize("name", ALL)
def test_recordables(name):
    cls = MODELS[name]
    pynn = pynn_type(name)
    assert set(cls.recordable) <= set(pynn.recordable)
    assert "spikes" in cls.recordable
    assert cls.is_source == (pynn.receptor_types == ())
    group = build(name)
    for var in cls.recordable:
        if var != "spikes":
            assert var in group.state


@pytest.mark.parametrize("name", ALL)
def test_step_contract(name):
    group = build(name)
    state0 = {k: v for k, v in group.state.items()}
    n_fired = 0
    for k in range(100):
        if not group.is_source:
            group.i_inj[:] = 0.3 if k < 50 else 0.0
        exc, inh = drive(name, N, k)
        fired, counts = group.step(k, exc, inh)
        assert isinstance(fired, np.ndarray) and fired.dtype == np.int64
        assert fired.ndim == 1
        assert np.all((fired >= 0) & (fired < N))
        assert np.unique(fired).size == fired.size
        if counts is not None:
            assert counts.dtype == np.int64 and counts.shape == fired.shape
            assert np.all(counts >= 1)
        n_fired += fired.size
        for var, arr in group.state.items():
            assert arr is state0[var], f"{var}: the state array was replaced"
            assert arr.shape == (N,) and arr.dtype == np.float64
            assert np.all(np.isfinite(arr)), f"{var} is not finite at step {k}"


@pytest.mark.parametrize("name", NEURONS)
def test_injected_current_equals_offset(name):
    """``i_inj`` is added to the membrane current like ``i_offset``."""
    current = 0.005 if name == "Izhikevich" else 0.7
    a = build(name, params=default_params(name, i_offset=current))
    b = build(name)
    without = build(name)
    zero = np.zeros(N)
    for k in range(300):
        b.i_inj[:] = current
        fa, _ = a.step(k, zero, zero)
        fb, _ = b.step(k, zero, zero)
        without.step(k, zero, zero)
        np.testing.assert_array_equal(fa, fb)
        np.testing.assert_array_equal(a.state["v"], b.state["v"])
    assert not np.array_equal(b.state["v"], without.state["v"]), "the current had no effect"


@pytest.mark.parametrize("name", ALL)
def test_slicing_invariance(name):
    """A neuron's trajectory does not depend on which other neurons share its
    group: one group of 10 == groups of 4 and 6, bitwise."""
    gids = np.arange(100, 110, dtype=np.int64)
    rng = np.random.default_rng(3)
    overrides = {}
    if not MODELS[name].is_source:
        overrides["i_offset"] = rng.uniform(0.0, 0.01 if name == "Izhikevich" else 1.0, 10)
    params = default_params(name, 10, **overrides)
    if name in ("SpikeSourcePoisson", "SpikeSourcePoissonRefractory"):
        params["rate"] = rng.uniform(100.0, 3000.0, 10)
    if name == "SpikeSourceGamma":
        params["alpha"] = rng.uniform(0.5, 4.0, 10)
        params["beta"] = rng.uniform(500.0, 5000.0, 10)
    extra = {}
    if name == "SpikeSourceArray":
        extra = {"spike_times": SpikeTimes.from_lists(
            [np.arange(1, 4) * (i + 1) for i in range(10)])}

    def make(lo, hi):
        sub = {p: v[lo:hi] for p, v in params.items()}
        init = default_initial(name, hi - lo)
        ex = {"spike_times": extra["spike_times"].select(lo, hi)} if extra else {}
        return MODELS[name](gids[lo:hi], sub, init, DT, 11, **ex)

    whole, parts = make(0, 10), [(make(0, 4), 0), (make(4, 10), 4)]
    total = 0
    for k in range(300):
        exc, inh = drive(name, 10, k)
        if name == "SpikeInjector":     # live input: the same injections, sliced
            idx = np.array([k % 10, (3 * k) % 10, k % 10])
            whole.inject(k, idx)
            for g, lo in parts:
                g.inject(k, idx[(idx >= lo) & (idx < lo + g.n)] - lo)
        fired, counts = whole.step(k, exc, inh)
        counts = np.ones(fired.size, np.int64) if counts is None else counts
        got_f, got_c = [], []
        for g, lo in parts:
            f, c = g.step(k, exc[lo:lo + g.n], inh[lo:lo + g.n])
            got_f.append(f + lo)
            got_c.append(np.ones(f.size, np.int64) if c is None else c)
        np.testing.assert_array_equal(np.concatenate(got_f), fired)
        np.testing.assert_array_equal(np.concatenate(got_c), counts)
        for var in whole.state:
            np.testing.assert_array_equal(
                np.concatenate([g.state[var] for g, _ in parts]), whole.state[var])
        total += counts.sum()
    assert total > 0, "nothing fired: the comparison is empty"


@pytest.mark.parametrize("name", [n for n in ALL if hasattr(MODELS[n], "set_parameters")])
def test_set_parameters_keeps_the_dynamic_state(name):
    """``set_parameters`` (PyNN's set() between runs) with unchanged values is
    invisible: every piece of dynamic state, hidden ones included, is kept."""
    params = default_params(name)
    if name in ("SpikeSourcePoisson", "SpikeSourcePoissonRefractory"):
        params["rate"][:] = 800.0
    if name == "SpikeSourceGamma":
        params["beta"][:] = 3000.0
    if name == "Izhikevich":
        params["i_offset"][:] = 0.01
    a = build(name, params=params)
    b = build(name, params={k: v.copy() for k, v in params.items()})
    total = 0
    for k in range(200):
        if k == 60:
            b.set_parameters({p: v.copy() for p, v in params.items()})
        exc, inh = drive(name, N, k)
        if not a.is_source:
            a.i_inj[:] = b.i_inj[:] = 0.5 if name != "Izhikevich" else 0.0
        fa, ca = a.step(k, exc, inh)
        fb, cb = b.step(k, exc, inh)
        np.testing.assert_array_equal(fa, fb)
        np.testing.assert_array_equal(ca if ca is not None else [], cb if cb is not None else [])
        for var in a.state:
            np.testing.assert_array_equal(a.state[var], b.state[var])
        total += fa.size
    assert total > 0


LEAKY = ["IF_curr_exp", "IF_curr_delta", "IF_curr_alpha", "IF_cond_exp", "IF_cond_alpha"]


@pytest.mark.parametrize("name", LEAKY)
def test_subthreshold_decay_to_rest(name):
    """Without input, ``v`` relaxes to ``v_rest`` as ``exp(-t/tau_m)``."""
    tau_m = np.array([5.0, 10.0, 20.0, 33.0, 50.0])
    params = default_params(name, tau_m=tau_m, v_rest=-70.0, v_thresh=-40.0)
    group = build(name, params=params, initial=default_initial(name, v=-52.0))
    exact = name.startswith("IF_curr")
    for k in range(400):
        group.step(k, np.zeros(N), np.zeros(N))
        expected = -70.0 + 18.0 * np.exp(-(k + 1) * DT / tau_m)
        np.testing.assert_allclose(group.state["v"], expected, rtol=0,
                                   atol=1e-11 if exact else 1e-9)


def test_alpha_current_synapse_closed_form():
    """The current of IF_curr_alpha: a weight w gives w (t/tau) exp(1 - t/tau)."""
    tau = np.array([0.5, 1.0, 2.0, 5.0, 20.0])
    group = build("IF_curr_alpha", params=default_params("IF_curr_alpha", tau_syn_E=tau,
                                                          tau_syn_I=tau, v_thresh=1e9))
    group.step(0, np.full(N, 2.0), np.full(N, -1.0))
    for k in range(1, 300):
        group.step(k, np.zeros(N), np.zeros(N))
        t = k * DT
        np.testing.assert_allclose(group.state["isyn_exc"], 2.0 * t / tau * np.exp(1 - t / tau),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(group.state["isyn_inh"], -t / tau * np.exp(1 - t / tau),
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["IF_cond_exp", "IF_cond_alpha", "EIF_cond_exp_isfa_ista",
                                  "EIF_cond_alpha_isfa_ista", "HH_cond_exp"])
def test_conductances_follow_their_shape(name):
    """Conductances are solved exactly: exponential or alpha of the weight (µS)."""
    tau = np.array([0.2, 0.5, 2.0, 5.0, 10.0])
    params = default_params(name, tau_syn_E=tau, tau_syn_I=tau[::-1])
    group = build(name, params=params)
    group.step(0, np.full(N, 0.01), np.full(N, 0.02))
    for k in range(1, 200):
        group.step(k, np.zeros(N), np.zeros(N))
        t = k * DT
        for var, w, ts in (("gsyn_exc", 0.01, tau), ("gsyn_inh", 0.02, tau[::-1])):
            shape = t / ts * np.exp(1 - t / ts) if "alpha" in name else np.exp(-t / ts)
            np.testing.assert_allclose(group.state[var], w * shape, rtol=1e-12, atol=1e-18)


def test_bad_parameters_are_refused():
    from spinn.errors import NetworkError
    with pytest.raises(NetworkError, match="rate is too high"):
        build("SpikeSourcePoissonRefractory",
              params=default_params("SpikeSourcePoissonRefractory", rate=300.0, tau_refrac=5.0))
    with pytest.raises(NetworkError, match="alpha"):
        build("SpikeSourceGamma", params=default_params("SpikeSourceGamma", alpha=0.0))
    with pytest.raises(NetworkError, match="overflow"):
        build("EIF_cond_exp_isfa_ista",
              params=default_params("EIF_cond_exp_isfa_ista", delta_T=0.01))


@pytest.mark.parametrize("shape", [0.3, 0.7, 1.0, 2.5, 7.0])
def test_gamma_sampler_distribution(shape):
    """The hashed-uniform gamma sampler (Marsaglia-Tsang) against the gamma CDF."""
    stats = pytest.importorskip("scipy.stats")
    from spinn.models.renewal import gamma_variates
    from spinn.rng import stream_key
    gids = np.arange(20000, dtype=np.int64)
    x = gamma_variates(lambda *parts: stream_key(5, *parts), gids, 17, np.full(gids.size, shape))
    assert np.all(x > 0)
    assert stats.kstest(x, stats.gamma(a=shape).cdf).statistic < 0.015
    # another step gives other numbers; the same step the same ones
    y = gamma_variates(lambda *parts: stream_key(5, *parts), gids, 18, np.full(gids.size, shape))
    assert np.mean(x == y) < 0.01
    np.testing.assert_array_equal(
        x[5:9], gamma_variates(lambda *parts: stream_key(5, *parts), gids[5:9], 17,
                               np.full(4, shape)))


def test_crossing_location_on_the_hermite_cubic():
    """The within-step reset of AdEx/Izhikevich locates threshold crossings on
    the cubic Hermite interpolant of a substep; exact for cubics."""
    from spinn.models.ode import crossing_fraction, hermite
    s_true = np.array([0.0, 1e-9, 0.1, 0.5, 0.73, 1.0])
    # v(s) = s^3 + s on [0, 1]: v0 = 0, v1 = 2, slopes 1 and 4
    v0, v1, m0, m1 = (np.zeros(6), np.full(6, 2.0), np.ones(6), np.full(6, 4.0))
    found = crossing_fraction(v0, v1, m0, m1, s_true**3 + s_true)
    np.testing.assert_allclose(found, s_true, rtol=0, atol=1e-12)
    np.testing.assert_allclose(hermite(v0, v1, m0, m1, found), s_true**3 + s_true, atol=1e-12)
    # linear, and already above threshold at the start
    np.testing.assert_allclose(crossing_fraction(np.array([0.0, 3.0]), np.array([2.0, 4.0]),
                                                 2.0, 2.0, np.array([1.5, 1.0])), [0.75, 0.0])
