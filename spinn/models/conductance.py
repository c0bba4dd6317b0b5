"""Conductance-based synapses and the leaky integrate-and-fire neurons using them.

Synaptic conductances ``gsyn_exc``, ``gsyn_inh`` (µS) are solved exactly: a
weight (µS, positive for both receptors) is added on arrival (exponential
shape) or to a rise term (alpha shape). The synaptic current into the
membrane is ``gsyn_exc (e_rev_E - v) + gsyn_inh (e_rev_I - v)`` (nA); the
membrane is integrated by :mod:`spinn.models.ode`.
"""
from __future__ import annotations

import math

import numpy as np

from ..rng import exact_exp
from .ode import IntegratedGroup, hold, stage_times

#: (state variable, time constant, reversal potential) of each receptor
RECEPTORS = (("gsyn_exc", "tau_syn_E", "e_rev_E"), ("gsyn_inh", "tau_syn_I", "e_rev_I"))


class ExpConductanceSynapse:
    """Exponentially decaying conductances (NEST's ``iaf_cond_exp``).

    A weight ``w`` (µS) gives ``w exp(-t/tau)``.
    """
    parameters = ("tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I")
    state = ("gsyn_exc", "gsyn_inh")
    hidden_state = ()

    def __init__(self, p: dict, dt: float, n_sub: int):
        t = stage_times(dt, n_sub)[:, None]
        self.e_rev = [p[e_rev] for _, _, e_rev in RECEPTORS]
        self.tau = [p[tau] for _, tau, _ in RECEPTORS]
        self.profile = [exact_exp(-t / tau) for tau in self.tau]
        self.decay = [exact_exp(-dt / tau) for tau in self.tau]

    def conductances(self, s: dict):
        """``(g, e_rev)`` per receptor: ``g[j]`` is the conductance (µS) at
        stage time ``j`` of this step (see :func:`~spinn.models.ode.stage_times`)."""
        return [(s[var] * self.profile[i], self.e_rev[i])
                for i, (var, _, _) in enumerate(RECEPTORS)]

    def conductances_at(self, s: dict, idx: np.ndarray, t):
        """The same for neurons ``idx`` at times ``t`` (ms into the step)."""
        return [(s[var][idx] * np.exp(-t / self.tau[i][idx]), self.e_rev[i][idx])
                for i, (var, _, _) in enumerate(RECEPTORS)]

    def receive(self, s: dict, exc: np.ndarray, inh: np.ndarray) -> None:
        for i, weights in enumerate((exc, inh)):
            g = s[RECEPTORS[i][0]]
            g *= self.decay[i]
            g += weights


class AlphaConductanceSynapse(ExpConductanceSynapse):
    """Alpha-shaped conductances (NEST's ``iaf_cond_alpha``).

    A weight ``w`` (µS) gives ``w (t/tau) exp(1 - t/tau)``, peak ``w`` at
    ``t = tau``. Each conductance has a rise term ``dg`` (µS/ms, internal):
    ``g(t) = (g0 + dg0 t) exp(-t/tau)``, ``dg(t) = dg0 exp(-t/tau)``; a weight
    enters ``dg`` as ``w e / tau``.
    """
    hidden_state = ("rise",)

    def __init__(self, p: dict, dt: float, n_sub: int):
        super().__init__(p, dt, n_sub)
        t = stage_times(dt, n_sub)[:, None]
        self.rise_profile = [t * prof for prof in self.profile]
        self.rise_to_g = [dt * decay for decay in self.decay]
        self.jump = [math.e / p[tau] for _, tau, _ in RECEPTORS]
        n = np.shape(p["tau_syn_E"])[0]
        self.rise = [np.zeros(n), np.zeros(n)]

    def conductances(self, s: dict):
        return [(s[var] * self.profile[i] + self.rise[i] * self.rise_profile[i], self.e_rev[i])
                for i, (var, _, _) in enumerate(RECEPTORS)]

    def conductances_at(self, s: dict, idx: np.ndarray, t):
        return [((s[var][idx] + self.rise[i][idx] * t) * np.exp(-t / self.tau[i][idx]),
                 self.e_rev[i][idx])
                for i, (var, _, _) in enumerate(RECEPTORS)]

    def receive(self, s: dict, exc: np.ndarray, inh: np.ndarray) -> None:
        for i, weights in enumerate((exc, inh)):
            g, rise = s[RECEPTORS[i][0]], self.rise[i]
            g *= self.decay[i]
            g += self.rise_to_g[i] * rise
            rise *= self.decay[i]
            rise += self.jump[i] * weights


class ConductanceGroup(IntegratedGroup):
    """A membrane with a leak and conductance synapses, plus other currents.

    The currents that are linear in ``v`` are gathered once per step: at
    stage ``j``, ``(g_leak (e_leak - v) + I_syn + i_ext) / cm =
    drive[j] - leak[j] v`` (mV/ms and 1/ms), the :meth:`terms` of
    :meth:`rhs`; a model adds its own currents there. Subclasses give the
    constants ``g_leak`` (µS), ``e_leak`` (mV) and ``cm`` (nF).
    """

    def begin_step(self, i_ext):
        c = self.c
        self.i_ext = i_ext
        drive = c["g_leak"] * c["e_leak"] + i_ext
        leak = c["g_leak"]
        for g, e_rev in self.syn.conductances(self.state):
            drive = drive + g * e_rev
            leak = leak + g
        self.drive = drive / c["cm"]
        self.leak = leak / c["cm"]

    def terms(self, j):
        return self.drive[j], self.leak[j]

    def terms_at(self, idx, t):
        c = self.c
        drive = c["g_leak"][idx] * c["e_leak"][idx] + self.i_ext[idx]
        leak = c["g_leak"][idx]
        for g, e_rev in self.syn.conductances_at(self.state, idx, t):
            drive = drive + g * e_rev
            leak = leak + g
        return drive / c["cm"][idx], leak / c["cm"][idx]


class ConductanceLIFGroup(ConductanceGroup):
    """Leaky integrate-and-fire with conductance synapses, fixed threshold, clamp.

    ``cm dv/dt = cm/tau_m (v_rest - v) + I_syn + i_offset + i_inj``.

    RK4 on substeps of at most 0.025 ms: the equation is linear in ``v`` and
    smooth within a step (the conductances are exact). Against ``solve_ivp``
    (``rtol=1e-10``), an EPSP + IPSP stays within 1e-7 mV for synaptic time
    constants of 0.3 ms and more (4e-6 mV at 0.1 ms).
    """
    membrane_parameters = ("tau_m", "cm", "v_rest", "v_reset", "v_thresh",
                           "tau_refrac", "i_offset")
    recordable = ("spikes", "v", "gsyn_exc", "gsyn_inh")
    max_substep_ms = 0.025

    def constants(self, p):
        return {"cm": p["cm"], "g_leak": p["cm"] / p["tau_m"], "e_leak": p["v_rest"]}

    def rhs(self, y, c, terms, free):
        drive, leak = terms
        return hold(drive - leak * y[0], free)[None, :]


class IF_cond_exp(ConductanceLIFGroup):
    synapse_class = ExpConductanceSynapse


class IF_cond_alpha(ConductanceLIFGroup):
    synapse_class = AlphaConductanceSynapse
