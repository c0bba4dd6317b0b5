"""Cell models of the engine: one vectorised step over all local neurons of a type.

A neuron model is a composition, as in sPyNNaker: *membrane dynamics*
(leaky integrate-and-fire, exact propagators) x *synapse shape* (exponential
current, alpha current, delta) x *threshold/reset* (fixed threshold,
refractory clamp).
Spike sources are models of their own. Units are PyNN's: ms, mV, nA, nF, Hz.
Time inside the engine is integer steps of ``dt`` ms.

Step semantics follow NEST's exact-integration models (``iaf_psc_exp``,
``iaf_psc_alpha``, ``iaf_psc_delta``): in step ``k`` (from time ``k*dt`` to
``(k+1)*dt``) the membrane is advanced with the synaptic current of the start
of the step, then the synaptic currents decay and take the input that arrives
in this step, then the threshold is checked; a spike gets the time stamp
``(k+1)*dt``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import kernels
from ..rng import exact_exp, expm1_exact

def refractory_steps(tau_refrac_ms: np.ndarray, dt: float) -> np.ndarray:
    """Refractory period in whole steps (NEST rounds ``t_ref / h``)."""
    return np.rint(np.asarray(tau_refrac_ms) / dt).astype(np.int64)


def keep_hidden_state(new, old):
    """``new`` synapse component with the ``hidden_state`` arrays of ``old``
    (per-neuron state that is not in the group's ``state``), if any."""
    if old is not None:
        for name in new.hidden_state:
            setattr(new, name, getattr(old, name))
    return new


# -- synapse shapes -----------------------------------------------------------

def exp_current_to_v(tau_s, tau_m, cm, h: float) -> np.ndarray:
    """Change of ``v`` (mV) after one step ``h`` caused by a unit current (nA)
    decaying with ``tau_s`` from the start of the step (``P21`` of NEST's
    ``iaf_psc_exp``).

    Written with expm1 so that ``tau_s -> tau_m`` stays exact; the limit is
    used when the two are equal.
    """
    same = np.isclose(tau_s, tau_m, rtol=1e-12, atol=0.0)
    tau_diff = np.where(same, 1.0, tau_m - tau_s)
    general = (-expm1_exact(h / tau_m - h / tau_s) * exact_exp(-h / tau_m)
               * tau_s * tau_m / (cm * tau_diff))
    limit = h / cm * exact_exp(-h / tau_m)
    return np.where(same, limit, general)


def _rise_to_v(tau_s: float, tau_m: float, cm: float, h: float) -> float:
    """Change of ``v`` (mV) after one step ``h`` caused by the current
    ``s * exp(-s/tau_s)`` (nA, ``s`` in ms from the start of the step).

    ``exp(-h/tau_m)/cm * (1 - exp(-x) (1 + x)) / a**2`` with
    ``a = 1/tau_s - 1/tau_m``, ``x = a h``; for ``|x| < 1`` the bracket
    loses digits to cancellation (all of them as ``a -> 0``), so its power
    series is summed there instead.

    >>> abs(_rise_to_v(2.0, 2.0, 1.0, 0.1) - 0.005 * math.exp(-0.05)) < 1e-18
    True
    """
    a = 1.0 / tau_s - 1.0 / tau_m
    x = a * h
    if abs(x) < 1.0:
        # 1 - e^-x (1 + x) = sum_{n>=2} (-1)^n (n-1)/n! x^n, divided by a^2
        bracket, term = 0.0, h * h / 2.0        # the n = 2 term, divided by a^2
        for n in range(2, 32):
            bracket += term
            term *= -x * n / ((n + 1) * (n - 1))
    else:
        bracket = -(math.expm1(-x) + x * math.exp(-x)) / (a * a)
    return math.exp(-h / tau_m) / cm * bracket


def alpha_current_to_v(tau_s, tau_m, cm, h: float) -> np.ndarray:
    """:func:`_rise_to_v` for every neuron (value by value, see ``exact_exp``)."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (tau_s, tau_m, cm)))
    rows = np.stack([a.ravel() for a in arrays], axis=1)
    uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
    values = np.array([_rise_to_v(ts, tm, c, h) for ts, tm, c in uniq.tolist()])
    return values[inverse.ravel()].reshape(arrays[0].shape)


class ExpCurrentSynapse:
    """Exponentially decaying synaptic currents ``isyn_exc``, ``isyn_inh`` (nA).

    A weight (nA) is added to the current on arrival; the current then decays
    with ``tau_syn_E`` / ``tau_syn_I``.
    """
    parameters = ("tau_syn_E", "tau_syn_I")
    state = ("isyn_exc", "isyn_inh")
    hidden_state = ()
    kernel = "lif_exp_step"

    def constants(self) -> list:
        return [self.to_v[0], self.to_v[1], self.decay[0], self.decay[1]]

    @staticmethod
    def compiled_step(kernels, cell, exc, inh) -> int:
        s = cell.state
        return kernels.lif_exp_step(s["v"], s["isyn_exc"], s["isyn_inh"], cell.refractory,
                                    cell.i_inj, cell._constants, cell._ref_steps, exc, inh,
                                    cell._fired)

    def __init__(self, p: dict, tau_m, cm, dt: float):
        self.decay = []
        self.to_v = []
        for tau_s in (p["tau_syn_E"], p["tau_syn_I"]):
            self.decay.append(exact_exp(-dt / tau_s))
            self.to_v.append(exp_current_to_v(tau_s, tau_m, cm, dt))

    def add_membrane_input(self, s: dict, u: np.ndarray, m: np.ndarray) -> None:
        """``u += to_v0 isyn_exc + to_v1 isyn_inh`` (``m`` scratch)."""
        np.multiply(self.to_v[0], s["isyn_exc"], out=m)
        m += self.to_v[1] * s["isyn_inh"]
        u += m

    def receive(self, s: dict, exc: np.ndarray, inh: np.ndarray, v: np.ndarray,
                integrating, m: np.ndarray) -> None:
        s["isyn_exc"] *= self.decay[0]
        s["isyn_exc"] += exc
        s["isyn_inh"] *= self.decay[1]
        s["isyn_inh"] += inh


class AlphaCurrentSynapse:
    """Alpha-shaped synaptic currents ``isyn_exc``, ``isyn_inh`` (nA).

    A weight ``w`` (nA) gives the current ``w (t/tau) exp(1 - t/tau)``, which
    peaks at ``w`` when ``t = tau`` (``tau_syn_E`` / ``tau_syn_I``), as NEST's
    ``iaf_psc_alpha``: each current has a rise term (nA/ms, internal) that
    decays with ``tau`` and feeds the current; the weight enters the rise term
    as ``w e / tau``.
    """
    parameters = ("tau_syn_E", "tau_syn_I")
    state = ("isyn_exc", "isyn_inh")
    hidden_state = ("rise",)
    kernel = "lif_alpha_step"

    def constants(self) -> list:
        return [self.to_v[0], self.to_v[1], self.decay[0], self.decay[1], self.rise_to_v[0],
                self.rise_to_v[1], self.rise_to_current[0], self.rise_to_current[1],
                self.jump[0], self.jump[1]]

    @staticmethod
    def compiled_step(kernels, cell, exc, inh) -> int:
        s, rise = cell.state, cell.syn.rise
        return kernels.lif_alpha_step(s["v"], s["isyn_exc"], s["isyn_inh"], rise[0], rise[1],
                                      cell.refractory, cell.i_inj, cell._constants,
                                      cell._ref_steps, exc, inh, cell._fired)

    def __init__(self, p: dict, tau_m, cm, dt: float):
        self.decay, self.rise_to_current, self.to_v, self.rise_to_v, self.jump = (
            [], [], [], [], [])
        for tau_s in (p["tau_syn_E"], p["tau_syn_I"]):
            decay = exact_exp(-dt / tau_s)
            self.decay.append(decay)
            self.rise_to_current.append(dt * decay)
            self.to_v.append(exp_current_to_v(tau_s, tau_m, cm, dt))
            self.rise_to_v.append(alpha_current_to_v(tau_s, tau_m, cm, dt))
            self.jump.append(math.e / tau_s)
        n = np.shape(tau_m)[0]
        self.rise = [np.zeros(n), np.zeros(n)]

    def add_membrane_input(self, s: dict, u: np.ndarray, m: np.ndarray) -> None:
        u += (self.rise_to_v[0] * self.rise[0] + self.to_v[0] * s["isyn_exc"]
              + self.rise_to_v[1] * self.rise[1] + self.to_v[1] * s["isyn_inh"])

    def receive(self, s: dict, exc: np.ndarray, inh: np.ndarray, v: np.ndarray,
                integrating, m: np.ndarray) -> None:
        for i, (name, weights) in enumerate((("isyn_exc", exc), ("isyn_inh", inh))):
            current, rise = s[name], self.rise[i]
            current *= self.decay[i]
            current += self.rise_to_current[i] * rise
            rise *= self.decay[i]
            rise += self.jump[i] * weights


class DeltaSynapse:
    """Delta synapses: a weight (mV) jumps the membrane potential on arrival.

    Input that arrives while the neuron is refractory is discarded (NEST's
    ``iaf_psc_delta`` default).
    """
    parameters = ()
    state = ()
    hidden_state = ()
    kernel = "lif_delta_step"

    def constants(self) -> list:
        return []

    @staticmethod
    def compiled_step(kernels, cell, exc, inh) -> int:
        return kernels.lif_delta_step(cell.state["v"], cell.refractory, cell.i_inj,
                                      cell._constants, cell._ref_steps, exc, inh, cell._fired)

    def __init__(self, p: dict, tau_m, cm, dt: float):
        pass

    def add_membrane_input(self, s: dict, u: np.ndarray, m: np.ndarray) -> None:
        u += 0.0        # as the compiled kernel (the sign of a zero)

    def receive(self, s, exc, inh, v, integrating, m) -> None:
        if integrating is None:
            v += np.add(exc, inh, out=m)
        else:
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
        self.state = {name: np.array(initial[name], dtype=np.float64)
                      for name in self.state_names()}
        self.refractory = np.zeros(self.n, dtype=np.int64)
        self.i_inj = np.zeros(self.n)
        self.injected = False       # a current source writes i_inj (the runtime says)
        self._u, self._m = np.empty(self.n), np.empty(self.n)
        self._above = np.empty(self.n, dtype=bool)
        self._refractory_until = 0  # no cell is refractory at or after this step
        self.syn = None
        self.set_parameters(params)

    def set_parameters(self, params: dict) -> None:
        """Use new parameter values from the next step on; the dynamic state
        (``state``, refractory counters, hidden synaptic state) is kept."""
        dt = self.dt
        self.p = params
        tau_m, cm = params["tau_m"], params["cm"]
        self.decay_v = exact_exp(-dt / tau_m)
        # constant-current propagator: tau_m/cm * (1 - exp(-dt/tau_m))
        self.current_to_v = -tau_m / cm * expm1_exact(-dt / tau_m)
        self.syn = keep_hidden_state(self.synapse_class(params, tau_m, cm, dt), self.syn)
        self.ref_steps = refractory_steps(params["tau_refrac"], dt)
        # the constant drive without injected current, as the step computes it
        self._drive = self.current_to_v * (params["i_offset"] + np.zeros(self.n))
        self._refractory_until = None
        self._compiled = kernels.compiled if self.synapse_class.kernel else None
        if self._compiled is not None:
            self._pack()

    def _pack(self) -> None:
        """The constants of the compiled step, one row each (its docstring)."""
        p, syn = self.p, self.syn
        rows = [p["v_rest"], self.current_to_v, p["i_offset"], self.decay_v, p["v_thresh"],
                p["v_reset"]] + syn.constants()
        self._constants = np.ascontiguousarray(np.broadcast_arrays(*rows), dtype=np.float64)
        self._fired = np.empty(self.n, dtype=np.int64)
        self._ref_steps = np.ascontiguousarray(self.ref_steps, dtype=np.int64)

    def step(self, k: int, exc: np.ndarray, inh: np.ndarray):
        if self._compiled is not None:
            n = self.syn.compiled_step(self._compiled, self, exc, inh)
            return self._fired[:n], None
        # The numpy path: the compiled kernel's operations in its order, in place
        # in scratch arrays (a step of a few thousand cells costs what its
        # ~20 numpy calls cost, not their arithmetic).
        s, p = self.state, self.p
        v, u = s["v"], self._u
        np.subtract(v, p["v_rest"], out=u)
        np.multiply(self.decay_v, u, out=u)
        drive = self._drive if not self.injected else \
            self.current_to_v * (p["i_offset"] + self.i_inj)
        np.add(drive, u, out=u)
        self.syn.add_membrane_input(s, u, self._m)
        np.add(u, p["v_rest"], out=u)
        if self._refractory_until is None:          # state written from outside
            busy = self.refractory.max(initial=0)
            self._refractory_until = k + int(busy) if busy else 0
        if k < self._refractory_until:
            integrating = self.refractory == 0
            np.copyto(v, u, where=integrating)
            self.refractory -= ~integrating
        else:                                       # nobody is refractory
            integrating = None
            np.copyto(v, u)
        self.syn.receive(s, exc, inh, v, integrating, self._m)
        fired = np.greater_equal(v, p["v_thresh"], out=self._above).nonzero()[0]
        if fired.size:
            v[fired] = p["v_reset"][fired]
            steps = self.ref_steps[fired]
            self.refractory[fired] = steps
            self._refractory_until = max(self._refractory_until, k + 1 + int(steps.max()))
        return fired, None

    def state_written(self) -> None:
        """Dynamic state was set from outside the step (restore, initialize)."""
        self._refractory_until = None


class IF_curr_exp(LIFGroup):
    synapse_class = ExpCurrentSynapse


class IF_curr_delta(LIFGroup):
    synapse_class = DeltaSynapse


class IF_curr_alpha(LIFGroup):
    synapse_class = AlphaCurrentSynapse
