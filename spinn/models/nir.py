"""The neuron of the Neuromorphic Intermediate Representation (NIR), forward Euler.

One engine cell type covers NIR's neuron nodes ``LIF``, ``CubaLIF``, ``LI``,
``CubaLI``, ``IF``, ``I`` (integrator) and ``Threshold``; NIR's parameters are
dimensionless (or in the graph's own units): nothing is converted to mV/nA.

NIR's equations are continuous in time; spinn integrates them with **forward
Euler** over a step of ``dt`` (the discretisation of the frameworks that
export and run NIR: snnTorch, Norse, Sinabs, Lava), every state variable
advanced with the values at the start of the step. In step ``k`` the input
signal is ``S = (exc + inh) + (i_offset + i_inj)`` (the summed weights of the spikes that
arrive in the step plus a constant, e.g. an ``Affine`` bias, plus any
injected current), and::

    I_eff = I                  if synapse (CubaLIF, CubaLI)   else  S
    I     = I + (dt/tau_syn) * (w_in * S - I)                  (synapse only)
    v     = v + (dt/tau_mem) * (leak * (v_leak - v) + r * I_eff)
    v     = I_eff              instead, if stateless (Threshold)
    spike if spiking and v > v_threshold; then v = v_reset

``IF`` and ``I`` are ``leak = 0`` with ``tau_mem = 1`` (so ``v += dt r I``).
``dt`` is a parameter (NIR's step in the graph's time unit, one spinn step);
a spike gets spinn's time stamp ``(k+1) * timestep``. The flags ``leak``, ``synapse``,
``spiking`` and ``stateless`` are 0.0 or 1.0 per neuron. Everything is
elementwise and deterministic, so results do not depend on the ranks.
"""
from __future__ import annotations

import numpy as np


class NIRNeuronGroup:
    """All local neurons of the NIR cell type (vectorised, numpy)."""
    is_source = False
    recordable = ("spikes", "v", "isyn")
    _parameters = ("dt", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "tau_syn", "w_in",
                   "i_offset", "leak", "synapse", "spiking", "stateless")

    @classmethod
    def parameter_names(cls):
        return cls._parameters

    @classmethod
    def state_names(cls):
        return ("v", "isyn")

    def __init__(self, gids: np.ndarray, params: dict, initial: dict, dt: float, seed: int):
        self.gids = gids
        self.n = len(gids)
        self.dt = dt
        self.state = {name: np.array(initial[name], dtype=np.float64)
                      for name in self.state_names()}
        self.i_inj = np.zeros(self.n)
        self.injected = False
        self.set_parameters(params)

    def set_parameters(self, params: dict) -> None:
        n = self.n
        self.p = {k: np.asarray(v, dtype=np.float64) + np.zeros(n) for k, v in params.items()}
        p = self.p
        self.a_mem = p["dt"] / p["tau_mem"]       # NIR's dt, not spinn's ms timestep
        self.a_syn = p["dt"] / p["tau_syn"]
        self.has_syn = p["synapse"] != 0.0
        self.spiking = p["spiking"] != 0.0
        self.stateless = p["stateless"] != 0.0

    def step(self, k: int, exc: np.ndarray, inh: np.ndarray):
        s, p = self.state, self.p
        v, isyn = s["v"], s["isyn"]
        inp = (exc + inh) + (p["i_offset"] + self.i_inj)   # i_inj: current sources
        i_eff = np.where(self.has_syn, isyn, inp)
        new_i = isyn + self.a_syn * (p["w_in"] * inp - isyn)
        np.copyto(isyn, new_i, where=self.has_syn)
        new_v = v + self.a_mem * (p["leak"] * (p["v_leak"] - v) + p["r"] * i_eff)
        np.copyto(v, np.where(self.stateless, i_eff, new_v))
        fired = (self.spiking & (v > p["v_threshold"])).nonzero()[0]
        if fired.size:
            v[fired] = p["v_reset"][fired]
        return fired, None

    def state_written(self) -> None:
        pass
