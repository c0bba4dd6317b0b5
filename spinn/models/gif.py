"""Generalised integrate-and-fire with conductance synapses and escape noise:
PyNN's ``GIF_cond_exp`` (NEST's ``gif_cond_exp``; Mensi et al. 2012,
Pozzorini et al. 2015)::

    cm dv/dt = cm/tau_m (v_rest - v) + I_syn - i_eta + i_offset + i_inj
    i_eta = sum_j eta_j,            eta_j decays with tau_eta[j], += a_eta[j] at a spike
    v_t   = v_t_star + sum_j gamma_j, gamma_j decays with tau_gamma[j], += a_gamma[j]

and a spike is emitted in a step with probability ``1 - exp(-lambda dt)``,
``lambda = lambda0 exp((v - v_t)/delta_v)`` (``lambda0`` in Hz).

Step ``k``, in NEST's order: ``i_eta`` and ``v_t`` of this step are the sums
of the components at its start (then the components decay by one step);
``v`` is integrated over the step with that ``i_eta`` (RK4, the conductances
exact, as :class:`~spinn.models.conductance.ConductanceLIFGroup`), the
synapses take this step's input; a neuron that is not refractory spikes if
its uniform number of the step is below the probability (the components
jump, and it is refractory for ``round(tau_refrac/dt)`` steps); a refractory
neuron counts down, and ``v`` is set to ``v_reset`` at the end of each of
its refractory steps (as NEST does, ``v`` is not reset in the spike's own
step, and ``v`` is held, not integrated, while refractory).

The uniform numbers are the per-step keyed streams of :mod:`spinn.rng`
(a function of seed, gid and step): the spikes do not depend on the number
of ranks or on the slicing.

The exponential components are PyNN's array parameters ``tau_eta``,
``a_eta``, ``tau_gamma``, ``a_gamma``; the engine sees one parameter per
component (``tau_eta_0``, ...). The engine model ``GIF_cond_exp`` has three
of each (PyNN's default); ``GIF_cond_exp:<n_eta>:<n_gamma>`` other numbers
(:func:`gif_class`). The initial ``i_eta`` and ``v_t`` go into the first
component of each (``eta_0 = i_eta``, ``gamma_0 = v_t - v_t_star``).
"""
from __future__ import annotations

import functools

import numpy as np

from ..rng import exact_exp, hashed_uniform, stream_keys
from .conductance import ConductanceLIFGroup, ExpConductanceSynapse
from .ode import require, rk4_step

PREFIX = "GIF_cond_exp"

#: stream tag of the escape-noise uniforms
_ESCAPE = 0x61F


def component_names(n_eta: int, n_gamma: int) -> tuple:
    """The engine's parameters of the exponential components.

    >>> component_names(1, 2)
    ('tau_eta_0', 'a_eta_0', 'tau_gamma_0', 'tau_gamma_1', 'a_gamma_0', 'a_gamma_1')
    """
    return (tuple(f"tau_eta_{j}" for j in range(n_eta)) + tuple(f"a_eta_{j}" for j in range(n_eta))
            + tuple(f"tau_gamma_{j}" for j in range(n_gamma))
            + tuple(f"a_gamma_{j}" for j in range(n_gamma)))


def model_name(n_eta: int, n_gamma: int) -> str:
    return PREFIX if (n_eta, n_gamma) == (3, 3) else f"{PREFIX}:{n_eta}:{n_gamma}"


class GIFGroup(ConductanceLIFGroup):
    membrane_parameters = ("v_rest", "cm", "tau_m", "tau_refrac", "v_reset", "i_offset",
                           "delta_v", "v_t_star", "lambda0")
    membrane_state = ("v",)
    recordable = ("spikes", "v", "gsyn_exc", "gsyn_inh", "i_eta", "v_t")
    synapse_class = ExpConductanceSynapse
    n_eta = n_gamma = 3

    @classmethod
    def parameter_names(cls):
        return (cls.membrane_parameters + component_names(cls.n_eta, cls.n_gamma)
                + cls.synapse_class.parameters)

    @classmethod
    def state_names(cls):
        return ("v", "v_t", "i_eta") + cls.synapse_class.state

    def __init__(self, gids, params, initial, dt, seed):
        super().__init__(gids, params, initial, dt, seed)
        self.key = stream_keys(seed, _ESCAPE)
        s = self.state
        # the components are dynamic state (checkpointed with the rest)
        for j in range(self.n_eta):
            s[f"eta_{j}"] = s["i_eta"].copy() if j == 0 else np.zeros(self.n)
        for j in range(self.n_gamma):
            s[f"gamma_{j}"] = (s["v_t"] - params["v_t_star"] + np.zeros(self.n) if j == 0
                               else np.zeros(self.n))

    def constants(self, p):
        name, gids = type(self).__name__, self.gids
        for tau in ("tau_m", "cm", "tau_syn_E", "tau_syn_I", "delta_v") + tuple(
                n for n in component_names(self.n_eta, self.n_gamma) if n.startswith("tau")):
            require(p[tau] > 0, name, f"{tau} must be > 0 (got {np.min(p[tau]):g})", gids)
        require(p["lambda0"] >= 0, name, "lambda0 must be >= 0", gids)
        require(p["tau_refrac"] >= 0, name, "tau_refrac must be >= 0", gids)
        c = super().constants(p)
        dt = self.dt
        c["eta_decay"] = [exact_exp(-dt / p[f"tau_eta_{j}"]) for j in range(self.n_eta)]
        c["gamma_decay"] = [exact_exp(-dt / p[f"tau_gamma_{j}"]) for j in range(self.n_gamma)]
        c["rate"] = p["lambda0"] * 1e-3                  # Hz -> 1/ms
        return c

    def step(self, k: int, exc: np.ndarray, inh: np.ndarray):
        s, p, c = self.state, self.p, self.c
        held = self.refractory > 0
        free = ~held if held.any() else None
        # i_eta and v_t of this step; the components decay to the next one
        i_eta, v_t = s["i_eta"], s["v_t"]
        i_eta[:] = 0.0
        for j in range(self.n_eta):
            eta = s[f"eta_{j}"]
            i_eta += eta
            eta *= c["eta_decay"][j]
        v_t[:] = p["v_t_star"]
        for j in range(self.n_gamma):
            gamma = s[f"gamma_{j}"]
            v_t += gamma
            gamma *= c["gamma_decay"][j]
        self.begin_step(p["i_offset"] + self.i_inj - i_eta)
        y = s["v"][None, :]
        h = self.h
        for i in range(self.n_sub):
            def f(yy, j, free=free):
                return self.rhs(yy, c, self.terms(j), free)
            y = rk4_step(f, y, h, (2 * i, 2 * i + 1, 2 * i + 2))[0]
        v = s["v"]
        v[...] = y[0]
        self.syn.receive(s, exc, inh)
        # escape noise
        with np.errstate(over="ignore"):
            rate = c["rate"] * np.exp((v - v_t) / p["delta_v"])
        chance = -np.expm1(-rate * self.dt)
        u = hashed_uniform(self.key, self.gids, k)
        spike = u < chance
        if free is not None:
            spike &= free
            idx = np.flatnonzero(held)
            self.refractory[idx] -= 1
            v[idx] = p["v_reset"][idx]
        fired = np.flatnonzero(spike)
        if fired.size:
            for j in range(self.n_eta):
                s[f"eta_{j}"][fired] += p[f"a_eta_{j}"][fired]
            for j in range(self.n_gamma):
                s[f"gamma_{j}"][fired] += p[f"a_gamma_{j}"][fired]
            self.refractory[fired] = self.ref_steps[fired]
        return fired, None


GIF_cond_exp = GIFGroup


@functools.lru_cache(maxsize=None)
def gif_class(name: str) -> type:
    """The cell group class of ``GIF_cond_exp:<n_eta>:<n_gamma>``."""
    parts = name.split(":")
    try:
        if len(parts) != 3 or parts[0] != PREFIX:
            raise ValueError
        n_eta, n_gamma = int(parts[1]), int(parts[2])
        if n_eta < 0 or n_gamma < 0:
            raise ValueError
    except ValueError:
        raise ValueError(f"{name!r} is not a GIF model ('{PREFIX}:<n_eta>:<n_gamma>')") from None
    if (n_eta, n_gamma) == (3, 3):
        return GIFGroup
    return type(name, (GIFGroup,), {"n_eta": n_eta, "n_gamma": n_gamma})
