"""Adaptive exponential integrate-and-fire (Brette & Gerstner 2005), PyNN's
``EIF_cond_exp_isfa_ista`` / ``EIF_cond_alpha_isfa_ista`` (NEST's
``aeif_cond_exp`` / ``aeif_cond_alpha``)::

    cm dv/dt = g_L (v_rest - v) + g_L delta_T exp((v - v_thresh)/delta_T)
               + I_syn - w + i_offset + i_inj
    tau_w dw/dt = a (v - v_rest) - w

with ``g_L = cm/tau_m`` (µS), ``a`` in nS, ``w`` and ``b`` in nA. A spike is
emitted when ``v`` reaches ``v_spike`` (``v_thresh`` if ``delta_T == 0``);
then ``v = v_reset``, ``w += b``, and ``v`` is held while ``w`` evolves
with ``v = v_reset``, until the end of the step and ``round(tau_refrac/dt)``
steps more. As in NEST, the right-hand side sees ``min(v, v_spike)``, so the
upstroke cannot overflow.

Integration (:mod:`spinn.models.ode`): RK4 on substeps of at most 0.025 ms,
reset where the threshold is crossed (as NEST's ``aeif`` models), spikes
stamped at the end of their step. Against ``solve_ivp`` (``rtol=1e-10``,
events) of the continuous model over 1 s of constant drive with the default
parameters (0.8, 1.5, 2.5 nA; 17-117 spikes), the crossing times the engine
locates are within 2.5e-4 ms of the reference (mean 1e-4 ms), so every spike
is stamped within 0.1 ms after the reference crossing. A crossing within
~1e-5 ms of a grid point may fall in either step, which moves the end of the
refractory period by a step. The upstroke gets stiffer as ``delta_T``
shrinks: with ``delta_T = 1`` or 0.5 mV the crossing errors grow to 4-5e-2
ms.
"""
from __future__ import annotations

import numpy as np

from .conductance import AlphaConductanceSynapse, ConductanceGroup, ExpConductanceSynapse
from .ode import hold, require

#: largest (v_spike - v_thresh)/delta_T before exp() comes near overflow
#: (NEST's bound: log(DBL_MAX / 1e20))
MAX_EXPONENT = float(np.log(np.finfo(np.float64).max / 1e20))


class AdExGroup(ConductanceGroup):
    membrane_parameters = ("cm", "tau_refrac", "v_spike", "v_reset", "v_rest", "tau_m",
                           "i_offset", "a", "b", "delta_T", "tau_w", "v_thresh")
    membrane_state = ("v", "w")
    recordable = ("spikes", "v", "w", "gsyn_exc", "gsyn_inh")
    max_substep_ms = 0.025

    reset_within_step = True

    def constants(self, p):
        name = type(self).__name__
        gids = self.gids
        exponential = p["delta_T"] > 0
        require(p["delta_T"] >= 0, name, "delta_T must be >= 0", gids)
        require(~exponential | (p["v_spike"] > p["v_thresh"]), name,
                "v_spike must be above v_thresh when delta_T > 0", gids)
        delta_T = np.where(exponential, p["delta_T"], 1.0)
        v_peak = np.where(exponential, p["v_spike"], p["v_thresh"])
        require(~exponential | ((v_peak - p["v_thresh"]) / delta_T < MAX_EXPONENT), name,
                "(v_spike - v_thresh)/delta_T is too large: exp() would overflow; "
                "raise delta_T or lower v_spike", gids)
        return {
            "cm": p["cm"], "g_leak": p["cm"] / p["tau_m"], "e_leak": p["v_rest"],
            "v_peak": v_peak, "v_thresh": p["v_thresh"], "delta_T": delta_T,
            # g_leak delta_T / cm (mV/ms): the exponential current over cm
            "spike_gain": np.where(exponential, p["delta_T"] / p["tau_m"], 0.0),
            "a": p["a"] * 1e-3,                      # nS -> µS
            "tau_w": p["tau_w"],
        }

    def rhs(self, y, c, terms, free):
        drive, leak = terms
        v = np.minimum(y[0], c["v_peak"])          # NEST's bound: no overflow
        w = y[1]
        dy = np.empty_like(y)
        dy[0] = hold(drive - leak * v - w / c["cm"]
                     + c["spike_gain"] * np.exp((v - c["v_thresh"]) / c["delta_T"]), free)
        dy[1] = (c["a"] * (v - c["e_leak"]) - w) / c["tau_w"]
        return dy

    def threshold(self):
        return self.c["v_peak"]

    def reset(self, y, idx):
        y[0] = self.p["v_reset"][idx]
        y[1] += self.p["b"][idx]


class EIF_cond_exp_isfa_ista(AdExGroup):
    synapse_class = ExpConductanceSynapse


class EIF_cond_alpha_isfa_ista(AdExGroup):
    synapse_class = AlphaConductanceSynapse
