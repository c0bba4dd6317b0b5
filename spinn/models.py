"""Cell models of the engine: one vectorised step over all local neurons of a type.

A neuron model is a composition, as in sPyNNaker: *membrane dynamics*
(leaky integrate-and-fire, exact propagators) x *synapse shape* (exponential
current, delta) x *threshold/reset* (fixed threshold, refractory clamp).
Spike sources are models of their own. Units are PyNN's: ms, mV, nA, nF, Hz.
Time inside the engine is integer steps of ``dt`` ms.

Step semantics follow NEST's exact-integration models (``iaf_psc_exp``,
``iaf_psc_delta``): in step ``k`` (from time ``k*dt`` to ``(k+1)*dt``) the
membrane is advanced with the synaptic current of the start of the step, then
the synaptic currents decay and take the input that arrives in this step, then
the threshold is checked; a spike gets the time stamp ``(k+1)*dt``.
"""
from __future__ import annotations

import numpy as np

from .rng import exact_exp, expm1_exact, hashed_uniform, stream_key

#: receptor indices in the ring buffer
EXCITATORY, INHIBITORY = 0, 1
N_RECEPTORS = 2


def refractory_steps(tau_refrac_ms: np.ndarray, dt: float) -> np.ndarray:
    """Refractory period in whole steps (NEST rounds ``t_ref / h``)."""
    return np.rint(np.asarray(tau_refrac_ms) / dt).astype(np.int64)


# -- synapse shapes -----------------------------------------------------------

class ExpCurrentSynapse:
    """Exponentially decaying synaptic currents ``isyn_exc``, ``isyn_inh`` (nA).

    A weight (nA) is added to the current on arrival; the current then decays
    with ``tau_syn_E`` / ``tau_syn_I``.
    """
    parameters = ("tau_syn_E", "tau_syn_I")
    state = ("isyn_exc", "isyn_inh")

    def __init__(self, p: dict, tau_m, cm, dt: float):
        h = dt
        self.decay = []
        self.to_v = []
        for tau_s in (p["tau_syn_E"], p["tau_syn_I"]):
            p11 = exact_exp(-h / tau_s)
            # response of v (mV) after one step to a unit current decaying
            # with tau_s, written with expm1 so tau_s -> tau_m stays exact.
            same = np.isclose(tau_s, tau_m, rtol=1e-12, atol=0.0)
            tau_diff = np.where(same, 1.0, tau_m - tau_s)
            general = (-expm1_exact(h / tau_m - h / tau_s) * exact_exp(-h / tau_m)
                       * tau_s * tau_m / (cm * tau_diff))
            limit = h / cm * exact_exp(-h / tau_m)
            self.decay.append(p11)
            self.to_v.append(np.where(same, limit, general))

    def membrane_input(self, s: dict) -> np.ndarray:
        return self.to_v[0] * s["isyn_exc"] + self.to_v[1] * s["isyn_inh"]

    def receive(self, s: dict, exc: np.ndarray, inh: np.ndarray, v: np.ndarray,
                integrating: np.ndarray) -> None:
        s["isyn_exc"] *= self.decay[0]
        s["isyn_exc"] += exc
        s["isyn_inh"] *= self.decay[1]
        s["isyn_inh"] += inh


class DeltaSynapse:
    """Delta synapses: a weight (mV) jumps the membrane potential on arrival.

    Input that arrives while the neuron is refractory is discarded (NEST's
    ``iaf_psc_delta`` default).
    """
    parameters = ()
    state = ()

    def __init__(self, p: dict, tau_m, cm, dt: float):
        pass

    def membrane_input(self, s: dict):
        return 0.0

    def receive(self, s, exc, inh, v, integrating) -> None:
        v += np.where(integrating, exc + inh, 0.0)


# -- neuron models ------------------------------------------------------------

class LIFGroup:
    """Leaky integrate-and-fire with exact propagators, fixed threshold, clamp.

    ``v`` relaxes to ``v_rest`` with ``tau_m``; ``i_offset`` (nA) is a constant
    input; after a spike ``v`` is held at ``v_reset`` for ``tau_refrac``.
    """
    synapse_class = None
    membrane_parameters = ("tau_m", "cm", "v_rest", "v_reset", "v_thresh",
                           "tau_refrac", "i_offset")
    is_source = False
    recordable = ("spikes", "v")

    @classmethod
    def parameter_names(cls):
        return cls.membrane_parameters + cls.synapse_class.parameters

    @classmethod
    def state_names(cls):
        return ("v",) + cls.synapse_class.state

    def __init__(self, gids: np.ndarray, params: dict, initial: dict, dt: float, seed: int):
        self.gids = gids
        self.n = len(gids)
        self.dt = dt
        self.p = params
        tau_m, cm = params["tau_m"], params["cm"]
        self.decay_v = exact_exp(-dt / tau_m)
        # constant-current propagator: tau_m/cm * (1 - exp(-dt/tau_m))
        self.current_to_v = -tau_m / cm * expm1_exact(-dt / tau_m)
        self.syn = self.synapse_class(params, tau_m, cm, dt)
        self.ref_steps = refractory_steps(params["tau_refrac"], dt)
        self.state = {name: np.array(initial[name], dtype=np.float64)
                      for name in self.state_names()}
        self.refractory = np.zeros(self.n, dtype=np.int64)

    def step(self, k: int, exc: np.ndarray, inh: np.ndarray):
        s, p = self.state, self.p
        v = s["v"]
        integrating = self.refractory == 0
        u = v - p["v_rest"]
        u_new = (self.current_to_v * p["i_offset"] + self.decay_v * u
                 + self.syn.membrane_input(s))
        np.copyto(v, u_new + p["v_rest"], where=integrating)
        self.refractory -= ~integrating
        self.syn.receive(s, exc, inh, v, integrating)
        fired = np.flatnonzero(v >= p["v_thresh"])
        if fired.size:
            v[fired] = p["v_reset"][fired]
            self.refractory[fired] = self.ref_steps[fired]
        return fired, None


class IF_curr_exp(LIFGroup):
    synapse_class = ExpCurrentSynapse


class IF_curr_delta(LIFGroup):
    synapse_class = DeltaSynapse


# -- spike sources ------------------------------------------------------------

class SpikeSourceArrayGroup:
    """Replays given spike times; a time ``t`` is emitted in step ``round(t/dt) - 1``."""
    is_source = True
    recordable = ("spikes",)

    @classmethod
    def parameter_names(cls):
        return ()

    @classmethod
    def state_names(cls):
        return ()

    def __init__(self, gids, params, initial, dt, seed, spike_times=()):
        self.gids = gids
        self.n = len(gids)
        self.state = {}
        self.set_spike_times(spike_times, dt)

    def set_spike_times(self, spike_times, dt, *, after_step: int = -1):
        steps, owners = [], []
        for i, times in enumerate(spike_times):
            st = np.rint(np.asarray(times, dtype=np.float64) / dt).astype(np.int64) - 1
            st = st[st > after_step]
            steps.append(st)
            owners.append(np.full(st.size, i, dtype=np.int64))
        steps = np.concatenate(steps) if steps else np.zeros(0, np.int64)
        owners = np.concatenate(owners) if owners else np.zeros(0, np.int64)
        order = np.lexsort((owners, steps))
        self.event_step = steps[order]
        self.event_owner = owners[order]

    def step(self, k, exc, inh):
        lo = np.searchsorted(self.event_step, k, "left")
        hi = np.searchsorted(self.event_step, k, "right")
        if hi == lo:
            return self.event_owner[:0], None
        owners = self.event_owner[lo:hi]
        uniq, counts = np.unique(owners, return_counts=True)
        return uniq, (counts if counts.max() > 1 else None)


class SpikeSourcePoissonGroup:
    """Poisson spike trains, with multiplicity when ``rate*dt`` is not small.

    In each active step a neuron emits ``n ~ Poisson(rate*dt)`` spikes (drawn
    by inverse transform from one hashed uniform per neuron and step, so the
    train of a neuron depends only on the seed, its population, its index and
    the step). Active while ``start < t <= start + duration``.
    """
    is_source = True
    recordable = ("spikes",)

    @classmethod
    def parameter_names(cls):
        return ("rate", "start", "duration")

    @classmethod
    def state_names(cls):
        return ()

    def __init__(self, gids, params, initial, dt, seed):
        self.gids = gids
        self.n = len(gids)
        self.state = {}
        self.key = stream_key(seed, 0x5050)
        self.dt = dt
        self._none = np.zeros(0, dtype=np.int64)
        self.set_parameters(params)

    def set_parameters(self, params):
        dt = self.dt
        self.p = params
        self.lam = params["rate"] * dt / 1000.0
        self.p0 = exact_exp(-self.lam)
        self.first = np.floor(params["start"] / dt + 1e-9).astype(np.int64) + 1
        stop = params["start"] + params["duration"]
        self.last = np.floor(np.minimum(stop / dt + 1e-9, 2**62)).astype(np.int64)
        active = self.lam > 0
        # the window in which any neuron of the group can fire: outside it a
        # step costs nothing (no random numbers are drawn, none are needed)
        self.window = ((int(self.first[active].min()), int(self.last[active].max()))
                       if active.any() else (1, 0))

    def step(self, k, exc, inh):
        stamp = k + 1
        if not self.window[0] <= stamp <= self.window[1]:
            return self._none, None
        u = hashed_uniform(self.key, self.gids, k)
        fired = np.flatnonzero((u >= self.p0) & (self.first <= stamp) & (stamp <= self.last))
        if fired.size == 0:
            return fired, None
        uu = u[fired]
        lam = self.lam[fired]
        pmf = self.p0[fired] * lam
        cdf = self.p0[fired] + pmf
        counts = np.ones(fired.size, dtype=np.int64)
        more = uu >= cdf
        j = 1
        while more.any() and j < 1000:
            j += 1
            pmf = pmf * lam / j
            cdf = cdf + pmf
            counts += more
            more &= uu >= cdf
        return fired, (counts if counts.max() > 1 else None)


MODELS = {
    "IF_curr_exp": IF_curr_exp,
    "IF_curr_delta": IF_curr_delta,
    "SpikeSourceArray": SpikeSourceArrayGroup,
    "SpikeSourcePoisson": SpikeSourcePoissonGroup,
}
