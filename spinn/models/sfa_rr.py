"""Leaky integrate-and-fire with conductance synapses, spike-frequency
adaptation and relative refractoriness: PyNN's ``IF_cond_exp_gsfa_grr``
(NEST's ``iaf_cond_exp_sfa_rr``; Muller et al. 2007, Dayan & Abbott 2001
p. 166)::

    cm dv/dt = cm/tau_m (v_rest - v) + gsyn_exc (e_rev_E - v) + gsyn_inh (e_rev_I - v)
               + g_s (e_rev_sfa - v) + g_r (e_rev_rr - v) + i_offset + i_inj

``g_s`` and ``g_r`` (nS, as PyNN gives them) decay with ``tau_sfa`` and
``tau_rr``; a spike adds ``q_sfa`` and ``q_rr`` to them, resets ``v`` to
``v_reset`` and holds it for ``tau_refrac``.

The two adaptation conductances are solved exactly, as the synaptic ones
(they are exponentials between spikes), and read by the RK4 stages of
:mod:`spinn.models.ode` like them; the step order is
:class:`~spinn.models.conductance.ConductanceLIFGroup`'s, which is NEST's
(integrate, take this step's input, check the threshold on the grid, and on
a spike add ``q_sfa``, ``q_rr`` at the end of the step).
"""
from __future__ import annotations

import numpy as np

from ..rng import exact_exp
from .conductance import ConductanceLIFGroup, ExpConductanceSynapse
from .ode import require, stage_times

#: (state variable (nS), time constant, reversal potential) of the adaptation
ADAPTATION = (("g_s", "tau_sfa", "e_rev_sfa"), ("g_r", "tau_rr", "e_rev_rr"))


class AdaptingConductances(ExpConductanceSynapse):
    """The exponential synaptic conductances plus ``g_s`` and ``g_r`` (nS;
    the membrane sees them in µS)."""
    parameters = ExpConductanceSynapse.parameters + ("tau_sfa", "e_rev_sfa", "tau_rr",
                                                     "e_rev_rr")
    state = ExpConductanceSynapse.state + ("g_s", "g_r")

    def __init__(self, p: dict, dt: float, n_sub: int):
        super().__init__(p, dt, n_sub)
        t = stage_times(dt, n_sub)[:, None]
        self.a_tau = [p[tau] for _, tau, _ in ADAPTATION]
        self.a_e_rev = [p[e_rev] for _, _, e_rev in ADAPTATION]
        self.a_profile = [exact_exp(-t / tau) * 1e-3 for tau in self.a_tau]   # nS -> µS
        self.a_decay = [exact_exp(-dt / tau) for tau in self.a_tau]

    def conductances(self, s: dict):
        return super().conductances(s) + [
            (s[var] * self.a_profile[i], self.a_e_rev[i])
            for i, (var, _, _) in enumerate(ADAPTATION)]

    def conductances_at(self, s: dict, idx: np.ndarray, t):
        return super().conductances_at(s, idx, t) + [
            (s[var][idx] * 1e-3 * np.exp(-t / self.a_tau[i][idx]), self.a_e_rev[i][idx])
            for i, (var, _, _) in enumerate(ADAPTATION)]

    def receive(self, s: dict, exc: np.ndarray, inh: np.ndarray) -> None:
        super().receive(s, exc, inh)
        for i, (var, _, _) in enumerate(ADAPTATION):
            s[var] *= self.a_decay[i]


class IF_cond_exp_gsfa_grr(ConductanceLIFGroup):
    membrane_parameters = ConductanceLIFGroup.membrane_parameters + ("q_sfa", "q_rr")
    recordable = ("spikes", "v", "g_r", "g_s", "gsyn_exc", "gsyn_inh")
    synapse_class = AdaptingConductances

    def constants(self, p):
        name, gids = type(self).__name__, self.gids
        for tau in ("tau_m", "cm", "tau_syn_E", "tau_syn_I", "tau_sfa", "tau_rr"):
            require(p[tau] > 0, name, f"{tau} must be > 0 (got {np.min(p[tau]):g})", gids)
        return super().constants(p)

    def reset(self, y, idx):
        y[0] = self.p["v_reset"][idx]
        self.state["g_s"][idx] += self.p["q_sfa"][idx]
        self.state["g_r"][idx] += self.p["q_rr"][idx]
