"""Izhikevich (2003) neurons, PyNN's ``Izhikevich`` (NEST's ``izhikevich``)::

    dv/dt = 0.04 v^2 + 5 v + 140 - u + I
    du/dt = a (b v - u)

``v`` in mV, ``u`` in mV/ms, ``I = 1000 (i_offset + i_inj)`` with the
currents in nA (PyNN's NEST and Brian2 backends: the equation reads the input
current in pA, i.e. a 1 pF membrane). Synapses are delta synapses: a weight
(mV) is added to ``v`` at the end of the step it arrives in. A spike is
emitted when ``v`` reaches 30 mV; then ``v = c``, ``u += d``; there is no
refractory period.

NEST integrates with forward Euler on the step and checks the threshold at
its end (``consistent_integration``). spinn integrates the continuous model:
RK4 on substeps of at most 0.025 ms (:mod:`spinn.models.ode`), reset where
``v`` crosses 30 mV (located on the substep's Hermite interpolant), spikes
stamped at the end of their step (several in one step are counted); a jump
from a synapse that reaches 30 mV resets at the end of the step. The
quadratic term sees ``min(v, 100)`` so that it cannot blow up within a step,
whatever the state. Against ``solve_ivp`` (``rtol=1e-10``, events) over 1 s
with ``i_offset = 0.01`` nA, the located crossings are within 3e-5 ms of the
reference for regular spiking and intrinsically bursting cells, 8e-5 ms for
chattering and 2e-4 ms for fast spiking (137 spikes); every spike is stamped
within 0.1 ms after the reference crossing.
"""
from __future__ import annotations

import numpy as np

from ..rng import exact_exp
from .ode import IntegratedGroup, VoltageJumpSynapse, stage_times

#: spike cut-off (mV), NEST's ``V_th``
V_PEAK = 30.0
#: the right-hand side sees v up to this (mV): well above any crossing
#: substep, and no blow-up of the quadratic term
V_CAP = 100.0


class Izhikevich(IntegratedGroup):
    membrane_parameters = ("a", "b", "c", "d", "i_offset")
    membrane_state = ("v", "u")
    recordable = ("spikes", "v", "u")
    synapse_class = VoltageJumpSynapse
    max_substep_ms = 0.025
    reset_within_step = True

    def constants(self, p):
        return {"a": p["a"], "b": p["b"], "v_peak": np.full(self.n, V_PEAK)}

    def begin_step(self, i_ext):
        self.drive = 140.0 + 1000.0 * i_ext

    def terms(self, j):
        return (self.drive,)

    def terms_at(self, idx, t):
        return (self.drive[idx],)

    def rhs(self, y, c, terms, free):
        v, u = y
        capped = np.minimum(v, V_CAP)
        dy = np.empty_like(y)
        dy[0] = (0.04 * capped + 5.0) * capped + terms[0] - u
        dy[1] = c["a"] * (c["b"] * v - u)
        return dy

    def threshold(self):
        return self.c["v_peak"]

    def reset(self, y, idx):
        y[0] = self.p["c"][idx]
        y[1] += self.p["d"][idx]


class ExpCurrentInput:
    """Exponentially decaying synaptic currents for an integrated membrane.

    ``isyn_exc``/``isyn_inh`` jump by the arriving weight and decay with
    ``tau_syn_E``/``tau_syn_I``; within a step the RK4 stages read them at
    their exact values (``isyn(0) exp(-t/tau)``).
    """
    parameters = ("tau_syn_E", "tau_syn_I")
    state = ("isyn_exc", "isyn_inh")
    hidden_state = ()

    def __init__(self, p: dict, dt: float, n_sub: int):
        t = stage_times(dt, n_sub)[:, None]
        self.tau = (p["tau_syn_E"], p["tau_syn_I"])
        self.profile = [exact_exp(-t / tau) for tau in self.tau]
        self.decay = [exact_exp(-dt / tau) for tau in self.tau]

    def current(self, s: dict, j: int) -> np.ndarray:
        return s["isyn_exc"] * self.profile[0][j] + s["isyn_inh"] * self.profile[1][j]

    def current_at(self, s: dict, idx: np.ndarray, t) -> np.ndarray:
        return (s["isyn_exc"][idx] * np.exp(-t / self.tau[0][idx])
                + s["isyn_inh"][idx] * np.exp(-t / self.tau[1][idx]))

    def receive(self, s: dict, exc: np.ndarray, inh: np.ndarray) -> None:
        for name, decay, weights in zip(self.state, self.decay, (exc, inh)):
            s[name] *= decay
            s[name] += weights


class IzhikevichCurrExp(Izhikevich):
    """sPyNNaker's current-based Izhikevich neuron (``spinn.extra_models``).

    The same membrane equations as :class:`Izhikevich`, but with exponential
    synaptic currents (weights in nA, inhibitory ones negative) and, as in
    sPyNNaker, the input current entering the equation as it is:
    ``I = i_offset + i_inj + isyn_exc + isyn_inh`` (no pA scaling).
    """
    synapse_class = ExpCurrentInput

    def begin_step(self, i_ext):
        self.drive = 140.0 + i_ext

    def terms(self, j):
        return (self.drive + self.syn.current(self.state, j),)

    def terms_at(self, idx, t):
        return (self.drive[idx] + self.syn.current_at(self.state, idx, t),)
