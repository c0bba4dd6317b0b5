"""The standard model library through the PyNN API: closed forms where they
exist, ``scipy.integrate.solve_ivp`` (rtol=1e-10) references for the
integrated models, distribution tests for the renewal sources, and rank-count
invariance of a network of every new type."""
import math

import numpy as np
import pytest

import spinn as sim

DT = 0.1


def v_trace(pop, var="v"):
    return np.asarray(pop.get_data(var).segments[0].filter(name=var)[0].magnitude)


def spike_times(pop):
    return [np.asarray(st.magnitude) for st in pop.get_data("spikes").segments[0].spiketrains]


def steps(times):
    return np.rint(np.asarray(times) / DT).astype(np.int64)


@pytest.fixture
def scipy():
    return pytest.importorskip("scipy")


@pytest.fixture
def fresh():
    sim.setup(timestep=DT, quiet=True)
    yield
    sim.end()


# -- references -----------------------------------------------------------------

def reset_reference(rhs, y0, t_stop, threshold, reset, ref_steps=0):
    """``solve_ivp`` of a neuron reset where ``v = y[0]`` crosses ``threshold``.

    ``rhs(t, y, refractory)``. The crossing at ``t*`` is an event; the state
    is reset there with ``reset(y)``; if ``ref_steps``, ``v`` is then held
    until the end of the step and ``ref_steps`` more (NEST's ``aeif``).
    Returns (crossing times, the solution as a function of grid times).
    """
    from scipy.integrate import solve_ivp
    options = dict(method="DOP853", rtol=1e-10, atol=1e-12, dense_output=True)

    def event(t, y):
        return y[0] - threshold
    event.terminal, event.direction = True, 1
    crossings, pieces = [], []
    t, y = 0.0, np.array(y0, dtype=float)
    while t < t_stop:
        sol = solve_ivp(lambda t, y: rhs(t, y, False), (t, t_stop), y, events=event,
                        **options)
        pieces.append((t, sol.sol))
        if sol.status != 1:
            break
        t = sol.t_events[0][0]
        crossings.append(t)
        y = reset(sol.y_events[0][0].copy())
        if ref_steps:
            t_free = min(t_stop, (math.ceil(t / DT - 1e-12) + ref_steps) * DT)
            sol = solve_ivp(lambda t, y: rhs(t, y, True), (t, t_free), y, **options)
            pieces.append((t, sol.sol))
            t, y = t_free, sol.y[:, -1]

    def on_grid(n_steps):
        grid = np.arange(n_steps + 1) * DT
        out = np.empty((len(y0), grid.size))
        starts = np.array([start for start, _ in pieces])
        which = np.searchsorted(starts, grid, side="right") - 1
        for i, (_, solution) in enumerate(pieces):
            sel = which == i
            if sel.any():
                out[:, sel] = solution(grid[sel])
        return out
    return np.array(crossings), on_grid


def check_against_reference(name, stamps, crossings, slow_engine, slow_ref, slow_atol):
    """Spike stamps against the reference crossing times, and the slow variable
    (``w``, ``u``) on the grid."""
    assert crossings.size >= 10, f"{name}: the reference hardly fires"
    assert stamps.size == crossings.size, f"{name}: {stamps.size} spikes, not {crossings.size}"
    # a spike is stamped at the end of the step in which v crossed: within one step
    lag = stamps * DT - crossings
    assert np.all((lag > -2e-3) & (lag < DT + 2e-3)), f"{name}: spike time lags {lag}"
    on_time = np.mean(stamps == np.ceil(crossings / DT - 1e-12))
    assert on_time > 0.9, f"{name}: only {on_time:.0%} of the spikes in the expected step"
    # between spikes (a crossing within 0.01 ms of a grid point may land either side)
    grid = np.arange(slow_engine.size) * DT
    near = np.any(np.abs(grid[:, None] - crossings[None, :]) < 1e-2 + DT, axis=1)
    np.testing.assert_allclose(slow_engine[~near], slow_ref[~near], rtol=0, atol=slow_atol,
                               err_msg=f"{name}: slow variable")


# -- current-based alpha synapses -------------------------------------------------

def test_curr_alpha_psp_matches_closed_form(fresh):
    tau_m, tau_s, cm, w, v_rest = 20.0, 2.0, 0.5, 1.5, -65.0
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
    cell = sim.Population(2, sim.IF_curr_alpha(tau_m=tau_m, cm=cm, tau_syn_E=tau_s,
                                                tau_syn_I=tau_s, v_rest=v_rest, v_thresh=0.0))
    sim.Projection(src, cell[0:1], sim.OneToOneConnector(), sim.StaticSynapse(weight=w, delay=1.0))
    sim.Projection(src, cell[1:2], sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=-w, delay=1.0), receptor_type="inhibitory")
    cell.record("v")
    sim.run(80.0)
    v = v_trace(cell)
    t = np.arange(v.shape[0]) * DT
    s = np.clip(t - 11.0, 0.0, None)                 # arrival: spike time + delay
    a = 1 / tau_s - 1 / tau_m
    psp = (w * math.e / (tau_s * cm) * np.exp(-s / tau_m)
           * (1 - np.exp(-a * s) * (1 + a * s)) / a**2)
    np.testing.assert_array_equal(v[t <= 11.0 + 1e-9], v_rest)
    np.testing.assert_allclose(v[:, 0], v_rest + psp, rtol=0, atol=1e-9)
    np.testing.assert_allclose(v[:, 1], v_rest - psp, rtol=0, atol=1e-9)
    # peak amplitude and time against the closed form on a fine time grid
    fine = np.arange(0.0, 60.0, 1e-4)
    fine_psp = (w * math.e / (tau_s * cm) * np.exp(-fine / tau_m)
                * (1 - np.exp(-a * fine) * (1 + a * fine)) / a**2)
    peak = np.argmax(v[:, 0])
    assert abs(t[peak] - 11.0 - fine[np.argmax(fine_psp)]) <= DT / 2
    assert abs(v[peak, 0] - v_rest - psp.max()) < 1e-9
    assert 0 <= fine_psp.max() - (v[peak, 0] - v_rest) < 1e-3     # the grid misses the top


# -- conductance-based LIF ------------------------------------------------------

@pytest.mark.parametrize("model,tau_syn", [("IF_cond_exp", 5.0), ("IF_cond_exp", 0.3),
                                           ("IF_cond_alpha", 0.3), ("IF_cond_alpha", 3.0)])
def test_cond_psp_matches_solve_ivp(fresh, scipy, model, tau_syn):
    from scipy.integrate import solve_ivp
    p = dict(tau_m=15.0, cm=0.8, v_rest=-65.0, e_rev_E=0.0, e_rev_I=-80.0, i_offset=0.1)
    w_e, w_i, t_e, t_i = 0.02, 0.05, 11.0, 31.0
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[10.0], [30.0]]))
    cell = sim.Population(1, getattr(sim, model)(tau_syn_E=tau_syn, tau_syn_I=2 * tau_syn,
                                                 v_thresh=0.0, **p))
    sim.Projection(src[0:1], cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_e, delay=1.0))
    sim.Projection(src[1:2], cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_i, delay=1.0), receptor_type="inhibitory")
    cell.record(["v", "gsyn_exc", "gsyn_inh"])
    sim.run(80.0)
    v = v_trace(cell)[:, 0]

    def shape(s, tau):
        if s < 0:
            return 0.0
        return s / tau * math.exp(1 - s / tau) if "alpha" in model else math.exp(-s / tau)

    def rhs(t, y):
        g_e = w_e * shape(t - t_e, tau_syn)
        g_i = w_i * shape(t - t_i, 2 * tau_syn)
        return [(p["cm"] / p["tau_m"] * (p["v_rest"] - y[0]) + g_e * (p["e_rev_E"] - y[0])
                 + g_i * (p["e_rev_I"] - y[0]) + p["i_offset"]) / p["cm"]]

    t = np.arange(v.size) * DT
    ref = np.empty_like(v)
    y, bounds = [-65.0], [0.0, t_e, t_i, 80.0]       # integrate piecewise: kinks at arrivals
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        sol = solve_ivp(rhs, (lo, hi), y, method="DOP853", rtol=1e-10, atol=1e-12,
                        dense_output=True)
        sel = (t >= lo - 1e-9) & (t <= hi + 1e-9)
        ref[sel] = sol.sol(t[sel])[0]
        y = sol.y[:, -1]
    np.testing.assert_allclose(v, ref, rtol=0, atol=1e-6)
    assert v.max() - v[int(t_e / DT)] > 0.2, "the EPSP is too small to test anything"
    g_e = v_trace(cell, "gsyn_exc")[:, 0]
    since = (np.arange(v.size) - round(t_e / DT)) * DT
    np.testing.assert_allclose(g_e, [w_e * shape(s, tau_syn) for s in since], atol=1e-15)


def test_cond_refractory_clamp_and_reset(fresh):
    cell = sim.Population(1, sim.IF_cond_exp(i_offset=2.0, tau_refrac=2.0, v_reset=-70.0))
    cell.record(["spikes", "v"])
    sim.run(100.0)
    spikes = steps(spike_times(cell)[0])
    v = v_trace(cell)[:, 0]
    assert spikes.size > 3
    for k in spikes:
        np.testing.assert_array_equal(v[k:k + 21], -70.0)     # 20 steps held, then free
        assert v[k + 21] > -70.0


# -- AdEx, Izhikevich, HH against solve_ivp ----------------------------------------

ADEX = dict(cm=0.281, tau_refrac=0.3, v_spike=-40.0, v_reset=-70.6, v_rest=-70.6,
            tau_m=9.3667, a=4.0, b=0.0805, delta_T=2.0, tau_w=144.0, v_thresh=-50.4)


def adex_rhs(p, current):
    g_leak = p["cm"] / p["tau_m"]

    def rhs(t, y, refractory):
        v = p["v_reset"] if refractory else min(y[0], p["v_spike"])
        dv = 0.0 if refractory else (
            g_leak * (p["v_rest"] - v)
            + g_leak * p["delta_T"] * math.exp((v - p["v_thresh"]) / p["delta_T"])
            - y[1] + current) / p["cm"]
        return [dv, (p["a"] * 1e-3 * (v - p["v_rest"]) - y[1]) / p["tau_w"]]
    return rhs


# One population per parameter set below: PyNN's get_data() on a population
# with several heterogeneous parameters recurses through ID.__getattr__.

def test_adex_spike_times_match_solve_ivp(fresh, scipy):
    t_stop = 1000.0
    runs = [(model, current, sim.Population(1, getattr(sim, model)(i_offset=current, **ADEX),
                                            initial_values={"v": -70.6, "w": 0.0}))
            for model in ("EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista")
            for current in (0.8, 1.5)]
    for _, _, pop in runs:
        pop.record(["spikes", "w"])
    sim.run(t_stop)

    def reset(y):
        y[0] = ADEX["v_reset"]
        y[1] += ADEX["b"]
        return y
    references = {}
    for model, current, pop in runs:
        if current not in references:
            crossings, on_grid = reset_reference(adex_rhs(ADEX, current), [-70.6, 0.0], t_stop,
                                                 ADEX["v_spike"], reset, ref_steps=3)
            references[current] = crossings, on_grid(int(round(t_stop / DT)))[1]
        crossings, w_ref = references[current]
        check_against_reference(f"{model} {current} nA", steps(spike_times(pop)[0]), crossings,
                                v_trace(pop, "w")[:, 0], w_ref, slow_atol=1e-5)


IZHIKEVICH = {   # Izhikevich (2003), fig. 2: (a, b, c, d)
    "regular spiking": (0.02, 0.2, -65.0, 8.0),
    "fast spiking": (0.1, 0.2, -65.0, 2.0),
    "chattering": (0.02, 0.2, -50.0, 2.0),
}


def test_izhikevich_spike_times_match_solve_ivp(fresh, scipy):
    current = 0.01                                   # nA: I = 10 in the paper's units
    t_stop = 1000.0
    pops = {label: sim.Population(1, sim.Izhikevich(a=a, b=b, c=c, d=d, i_offset=current),
                                  initial_values={"v": -70.0, "u": -14.0})
            for label, (a, b, c, d) in IZHIKEVICH.items()}
    for pop in pops.values():
        pop.record(["spikes", "u"])
    sim.run(t_stop)
    for label, (a, b, c, d) in IZHIKEVICH.items():
        def rhs(t, y, refractory, a=a, b=b):
            v = min(y[0], 100.0)
            return [0.04 * v * v + 5 * v + 140 - y[1] + 1000 * current, a * (b * y[0] - y[1])]

        def reset(y, c=c, d=d):
            y[0] = c
            y[1] += d
            return y
        crossings, on_grid = reset_reference(rhs, [-70.0, -14.0], t_stop, 30.0, reset)
        u_ref = on_grid(int(round(t_stop / DT)))[1]
        check_against_reference(f"Izhikevich {label}", steps(spike_times(pops[label])[0]),
                                crossings, v_trace(pops[label], "u")[:, 0], u_ref,
                                slow_atol=1e-2)


HH = dict(gbar_Na=20.0, gbar_K=6.0, g_leak=0.01, cm=0.2, v_offset=-63.0, e_rev_Na=50.0,
          e_rev_K=-90.0, e_rev_leak=-65.0)


def hh_rhs(p, current):
    def rates(V):
        return (0.32 * (13 - V) / (math.exp((13 - V) / 4) - 1),
                0.28 * (V - 40) / (math.exp((V - 40) / 5) - 1),
                0.128 * math.exp((17 - V) / 18), 4 / (1 + math.exp((40 - V) / 5)),
                0.032 * (15 - V) / (math.exp((15 - V) / 5) - 1), 0.5 * math.exp((10 - V) / 40))

    def rhs(t, y):
        v, m, h, n = y
        am, bm, ah, bh, an, bn = rates(v - p["v_offset"])
        return [(p["gbar_Na"] * m**3 * h * (p["e_rev_Na"] - v)
                 + p["gbar_K"] * n**4 * (p["e_rev_K"] - v)
                 + p["g_leak"] * (p["e_rev_leak"] - v) + current) / p["cm"],
                am - (am + bm) * m, ah - (ah + bh) * h, an - (an + bn) * n]
    return rhs


def test_hh_spikes_match_solve_ivp(fresh, scipy):
    """No reset: the continuous trajectory is the reference; spikes by NEST's rule
    (v >= v_offset + 30 and falling, not within 2 ms of the last one)."""
    from scipy.integrate import solve_ivp
    currents = (0.3, 0.8)
    t_stop = 500.0
    pops = [sim.Population(1, sim.HH_cond_exp(i_offset=current, **HH),
                           initial_values={"v": -65.0, "m": 0.0, "h": 1.0, "n": 0.0})
            for current in currents]
    for pop in pops:
        pop.record(["spikes", "v"])
    sim.run(t_stop)
    for current, pop in zip(currents, pops):
        v_engine = v_trace(pop)[:, 0]
        grid = np.arange(v_engine.size) * DT
        rhs = hh_rhs(HH, current)

        def peak(t, y):
            return rhs(t, y)[0]
        peak.direction = -1
        sol = solve_ivp(rhs, (0, t_stop), [-65.0, 0.0, 1.0, 0.0], method="DOP853",
                        rtol=1e-10, atol=1e-12, dense_output=True, events=peak)
        v_ref = sol.sol(grid)[0]
        peaks = sol.t_events[0][sol.y_events[0][:, 0] >= HH["v_offset"] + 30]
        expected, pause = [], 0
        for k in range(1, grid.size):
            if pause:
                pause -= 1
            elif v_ref[k] >= HH["v_offset"] + 30 and v_ref[k - 1] > v_ref[k]:
                expected.append(k)
                pause = 20
        got = steps(spike_times(pop)[0])
        assert len(expected) >= 10
        np.testing.assert_array_equal(got, expected)
        assert got.size == peaks.size
        lag = got * DT - peaks                 # stamped in the step after the peak
        assert np.all((lag > 0) & (lag <= 2 * DT + 1e-9))
        # the trajectories agree in time: upward 0 mV crossings, interpolated
        # the same way on both grid traces
        np.testing.assert_allclose(zero_crossings(v_engine), zero_crossings(v_ref),
                                   rtol=0, atol=1e-3)
        np.testing.assert_allclose(v_engine, v_ref, rtol=0, atol=0.2)


def zero_crossings(v):
    k = np.flatnonzero((v[:-1] < 0) & (v[1:] >= 0))
    return (k - v[k] / (v[k + 1] - v[k])) * DT


# -- renewal sources ------------------------------------------------------------

def isis(trains):
    return np.concatenate([np.diff(t) for t in trains])


@pytest.mark.parametrize("alpha,beta", [(3, 60.0), (1, 25.0)])
def test_gamma_intervals(fresh, scipy, alpha, beta):
    """PyNN's alpha is an integer order (NEST's gamma_sup_generator); the
    sampler's non-integer shapes are tested in tests/unit."""
    from scipy import stats
    src = sim.Population(100, sim.SpikeSourceGamma(alpha=alpha, beta=beta, start=50.0))
    src.record("spikes")
    sim.run(2050.0)
    trains = spike_times(src)
    intervals = isis(trains)
    assert intervals.size > 3000
    assert min(t.min() for t in trains if t.size) > 50.0
    result = stats.kstest(intervals, stats.gamma(a=alpha, scale=1000.0 / beta).cdf)
    assert result.statistic < 0.05, result
    rate = sum(t.size for t in trains) / 100 / 2.0
    assert abs(rate - beta / alpha) < 0.1 * beta / alpha


def test_poisson_refractory_intervals(fresh, scipy):
    from scipy import stats
    rate, tau_refrac = 50.0, 5.0
    src = sim.Population(100, sim.SpikeSourcePoissonRefractory(rate=rate, tau_refrac=tau_refrac))
    free = sim.Population(20, sim.SpikeSourcePoissonRefractory(rate=2000.0, tau_refrac=0.0))
    src.record("spikes")
    free.record("spikes")
    sim.run(2000.0)
    trains = spike_times(src)
    intervals = isis(trains)
    assert intervals.size > 5000
    assert intervals.min() >= tau_refrac + DT - 1e-9
    lam = rate / (1 - rate * tau_refrac / 1000.0)             # Hz, after the dead time
    result = stats.kstest(intervals, stats.expon(loc=tau_refrac, scale=1000.0 / lam).cdf)
    assert result.statistic < 0.05, result
    n = sum(t.size for t in trains)
    expected = 100 * rate * 2.0
    assert abs(n - expected) < 5 * math.sqrt(expected)
    # no dead time: Poisson counts, with several spikes in a step (rate*dt = 0.2)
    counts = sum(t.size for t in spike_times(free))
    assert abs(counts - 20 * 2000.0 * 2.0) < 5 * math.sqrt(20 * 2000.0 * 2.0)
    assert any(np.any(np.diff(t) == 0) for t in spike_times(free))


# -- rank invariance ------------------------------------------------------------

NEW_TYPES = ("IF_curr_alpha", "IF_cond_exp", "IF_cond_alpha", "Izhikevich",
             "EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista", "HH_cond_exp",
             "SpikeSourceGamma", "SpikeSourcePoissonRefractory")


def library_network(n_ranks, npc):
    """Every new type, driven by the new sources and by each other."""
    sim.setup(timestep=DT, quiet=True, n_virtual_ranks=n_ranks)
    if npc:
        for name in NEW_TYPES:
            sim.set_number_of_neurons_per_core(getattr(sim, name), npc)
    rng = sim.NumpyRNG(seed=99)
    gamma = sim.Population(12, sim.SpikeSourceGamma(alpha=2.0, beta=400.0), label="gamma")
    dead = sim.Population(12, sim.SpikeSourcePoissonRefractory(rate=300.0, tau_refrac=1.0),
                          label="dead")
    cells = {
        "curr_alpha": sim.IF_curr_alpha(tau_syn_E=1.0, i_offset=0.2),
        "cond_exp": sim.IF_cond_exp(i_offset=0.3),
        "cond_alpha": sim.IF_cond_alpha(tau_syn_E=1.0),
        "izh": sim.Izhikevich(i_offset=0.004),
        "adex_exp": sim.EIF_cond_exp_isfa_ista(i_offset=0.2),
        "adex_alpha": sim.EIF_cond_alpha_isfa_ista(i_offset=0.2),
        "hh": sim.HH_cond_exp(i_offset=0.5),
    }
    pops = {label: sim.Population(7, celltype, label=label)
            for label, celltype in cells.items()}
    weights = {"curr_alpha": (0.8, -0.5), "izh": (4.0, -2.0)}
    for label, pop in pops.items():
        w_e, w_i = weights.get(label, (0.01, 0.01))
        sim.Projection(gamma, pop, sim.FixedProbabilityConnector(0.5, rng=rng),
                       sim.StaticSynapse(weight=w_e, delay=sim.RandomDistribution(
                           "uniform", low=0.1, high=2.0, rng=rng)), label=f"gamma-{label}")
        sim.Projection(dead, pop, sim.FixedProbabilityConnector(0.3, rng=rng),
                       sim.StaticSynapse(weight=w_i, delay=1.0), receptor_type="inhibitory",
                       label=f"dead-{label}")
        sim.Projection(pops["hh"], pop, sim.FixedProbabilityConnector(0.4, rng=rng),
                       sim.StaticSynapse(weight=w_e, delay=0.5), label=f"hh-{label}")
        pop.record(["spikes", "v"])
    gamma.record("spikes")
    dead.record("spikes")
    sim.run(60.0)
    sim.run(40.0)
    spikes = {label: spike_times(pop) for label, pop in list(pops.items())
              + [("gamma", gamma), ("dead", dead)]}
    v = {label: v_trace(pop) for label, pop in pops.items()}
    sim.end()
    return spikes, v


def test_rank_invariance_of_the_library():
    ref_spikes, ref_v = library_network(1, None)
    for label in ref_spikes:
        assert sum(t.size for t in ref_spikes[label]) > 0, f"{label} is silent"
    spikes, v = library_network(3, 3)
    for label, trains in ref_spikes.items():
        for a, b in zip(spikes[label], trains):
            np.testing.assert_array_equal(a, b, err_msg=label)
    for label in ref_v:
        np.testing.assert_array_equal(v[label], ref_v[label], err_msg=label)
