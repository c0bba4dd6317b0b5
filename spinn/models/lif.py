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

from ..rng import exact_exp, expm1_exact

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
        self.i_inj = np.zeros(self.n)

    def step(self, k: int, exc: np.ndarray, inh: np.ndarray):
        s, p = self.state, self.p
        v = s["v"]
        integrating = self.refractory == 0
        u = v - p["v_rest"]
        u_new = (self.current_to_v * (p["i_offset"] + self.i_inj) + self.decay_v * u
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
