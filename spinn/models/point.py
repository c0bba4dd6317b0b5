"""PyNN's composed neuron ``PointNeuron(neuron, **receptors)``: a membrane
(``LIF`` or ``AdExp``) with any number of named receptor types, each with its
own post-synaptic response (PyNN 0.13's ``CurrExpPostSynapticResponse``,
``CondExpPostSynapticResponse``, ``CondAlphaPostSynapticResponse``,
``CondBetaPostSynapticResponse``).

The engine model is named after its composition::

    PointNeuron:<membrane>:<receptor>=<response>,<receptor>=<response>,...

with the receptors in PyNN's order (sorted by name): receptor ``i`` of that
list is row ``i`` of the ring buffer's receptor axis (see
:func:`spinn.models.receptor_count`). Parameters and state variables of a
receptor are named as PyNN names them, ``"<receptor>.<name>"`` (``AMPA.tau_syn``,
``AMPA.gsyn``).

The dynamics are those of the monolithic models, one receptor at a time:

* ``LIF`` with current responses (NEST's ``iaf_psc_exp_multisynapse``): the
  exact propagators and step order of :mod:`spinn.models.lif`; with the two
  receptors ``excitatory`` and ``inhibitory`` it performs ``IF_curr_exp``'s
  operations in ``IF_curr_exp``'s order (the same numbers, bit for bit).
* ``LIF`` / ``AdExp`` with conductance responses (NEST's
  ``aeif_cond_alpha_multisynapse``, ``aeif_cond_beta_multisynapse``): the
  conductances are solved exactly and read by the RK4 stages of
  :mod:`spinn.models.ode`, as ``IF_cond_exp`` / ``EIF_cond_*_isfa_ista`` do
  (again their very operations for two receptors ``excitatory``,
  ``inhibitory``).

A beta-shaped conductance (``tau_rise``, ``tau_decay``) is
``g(t) = w n (exp(-t/tau_decay) - exp(-t/tau_rise)) / (1/tau_rise - 1/tau_decay)``
with ``n`` chosen so that its peak is ``w`` (NEST's normalisation); it is
kept as a conductance and a rise term: ``dg/dt = -g/tau_decay + r``,
``dr/dt = -r/tau_rise``, a weight entering ``r`` as ``w n``.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..rng import exact_exp, expm1_exact
from .adex import AdExGroup
from .conductance import ConductanceLIFGroup
from .lif import LIFGroup, exp_current_to_v
from .ode import require, stage_times

#: response -> its parameters (besides PyNN's ``locations``) and state variable
RESPONSES = {
    "CurrExp": (("tau_syn",), "isyn"),
    "CondExp": (("tau_syn", "e_syn"), "gsyn"),
    "CondAlpha": (("tau_syn", "e_syn"), "gsyn"),
    "CondBeta": (("tau_rise", "tau_decay", "e_syn"), "gsyn"),
}

PREFIX = "PointNeuron"


def model_name(membrane: str, receptors) -> str:
    """The engine model of a membrane and ``(receptor, response)`` pairs.

    >>> model_name("LIF", [("inhibitory", "CurrExp"), ("excitatory", "CurrExp")])
    'PointNeuron:LIF:excitatory=CurrExp,inhibitory=CurrExp'
    """
    return f"{PREFIX}:{membrane}:" + ",".join(f"{r}={kind}" for r, kind in sorted(receptors))


def parse(name: str):
    """``(membrane, ((receptor, response), ...))`` of an engine model name, or
    ValueError naming what is wrong."""
    parts = name.split(":")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[2]:
        raise ValueError(f"{name!r} is not a PointNeuron model "
                         f"('{PREFIX}:<membrane>:<receptor>=<response>,...')")
    receptors = tuple(tuple(item.split("=", 1)) for item in parts[2].split(","))
    for item in receptors:
        if len(item) != 2 or item[1] not in RESPONSES:
            raise ValueError(f"{name!r}: unknown post-synaptic response in {'='.join(item)!r}; "
                             f"known: {', '.join(RESPONSES)}")
    names = [r for r, _ in receptors]
    if names != sorted(set(names)):
        raise ValueError(f"{name!r}: receptors must be distinct and sorted by name")
    return parts[1], receptors


def _receptor_names(receptors, what):
    return tuple(f"{r}.{p}" for r, kind in receptors for p in
                 (RESPONSES[kind][0] if what == "parameters" else (RESPONSES[kind][1],)))


def _positive(p, names, model, gids):
    for name in names:
        require(p[name] > 0, model, f"{name} must be > 0 (got {np.min(p[name]):g})", gids)


class CurrentReceptors:
    """Exponentially decaying currents (nA), one per receptor: a weight
    (nA, either sign) is added on arrival, the current decays with the
    receptor's ``tau_syn``. The membrane input is that of
    :class:`~spinn.models.lif.ExpCurrentSynapse`, receptor after receptor."""
    receptors: tuple = ()
    hidden_state = ()
    kernel = None

    def __init__(self, p: dict, tau_m, cm, dt: float):
        self.vars = [f"{r}.isyn" for r, _ in self.receptors]
        self.decay, self.to_v = [], []
        for r, _ in self.receptors:
            tau_s = p[f"{r}.tau_syn"]
            self.decay.append(exact_exp(-dt / tau_s))
            self.to_v.append(exp_current_to_v(tau_s, tau_m, cm, dt))

    def add_membrane_input(self, s: dict, u: np.ndarray, m: np.ndarray) -> None:
        np.multiply(self.to_v[0], s[self.vars[0]], out=m)
        for to_v, var in zip(self.to_v[1:], self.vars[1:]):
            m += to_v * s[var]
        u += m

    def receive(self, s: dict, inputs, _unused, v, integrating, m) -> None:
        """``inputs``: one array of summed weights per receptor (this step)."""
        for var, decay, weights in zip(self.vars, self.decay, inputs):
            current = s[var]
            current *= decay
            current += weights


class ConductanceReceptors:
    """Conductances (µS), one per receptor, each of its response's shape,
    solved exactly (the interface of
    :class:`~spinn.models.conductance.ExpConductanceSynapse`)."""
    receptors: tuple = ()
    hidden_state = ("rise",)

    def __init__(self, p: dict, dt: float, n_sub: int):
        t = stage_times(dt, n_sub)[:, None]
        self.vars = [f"{r}.gsyn" for r, _ in self.receptors]
        self.kinds = [kind for _, kind in self.receptors]
        self.e_rev, self.tau, self.tau_rise, self.profile, self.decay = [], [], [], [], []
        self.rise_profile, self.rise_to_g, self.rise_decay, self.jump = [], [], [], []
        n = None
        for r, kind in self.receptors:
            self.e_rev.append(p[f"{r}.e_syn"])
            tau = p[f"{r}.tau_decay" if kind == "CondBeta" else f"{r}.tau_syn"]
            n = np.shape(tau)[0]
            self.tau.append(tau)
            profile = exact_exp(-t / tau)
            decay = exact_exp(-dt / tau)
            self.profile.append(profile)
            self.decay.append(decay)
            if kind == "CondExp":
                for lst in (self.tau_rise, self.rise_profile, self.rise_to_g, self.rise_decay,
                            self.jump):
                    lst.append(None)
            elif kind == "CondAlpha":      # as AlphaConductanceSynapse
                self.tau_rise.append(None)
                self.rise_profile.append(t * profile)
                self.rise_to_g.append(dt * decay)
                self.rise_decay.append(decay)
                self.jump.append(math.e / tau)
            else:
                tau_r = p[f"{r}.tau_rise"]
                self.tau_rise.append(tau_r)
                self.rise_profile.append(profile * _beta_factor(t, tau_r, tau))
                self.rise_to_g.append(decay * _beta_factor(dt, tau_r, tau))
                self.rise_decay.append(exact_exp(-dt / tau_r))
                self.jump.append(_beta_normalisation(tau_r, tau))
        self.rise = [np.zeros(n) for _ in self.receptors]

    def conductances(self, s: dict):
        out = []
        for i, var in enumerate(self.vars):
            g = s[var] * self.profile[i]
            if self.kinds[i] != "CondExp":
                g = g + self.rise[i] * self.rise_profile[i]
            out.append((g, self.e_rev[i]))
        return out

    def conductances_at(self, s: dict, idx: np.ndarray, t):
        out = []
        for i, var in enumerate(self.vars):
            tau = self.tau[i][idx]
            if self.kinds[i] == "CondExp":
                g = s[var][idx] * np.exp(-t / tau)
            elif self.kinds[i] == "CondAlpha":
                g = (s[var][idx] + self.rise[i][idx] * t) * np.exp(-t / tau)
            else:
                g = (s[var][idx] + self.rise[i][idx]
                     * _beta_factor(t, self.tau_rise[i][idx], tau, np.expm1)) * np.exp(-t / tau)
            out.append((g, self.e_rev[i][idx]))
        return out

    def receive(self, s: dict, inputs, _unused=None) -> None:
        """``inputs``: one array of summed weights (µS) per receptor."""
        for i, (var, weights) in enumerate(zip(self.vars, inputs)):
            g = s[var]
            g *= self.decay[i]
            if self.kinds[i] == "CondExp":
                g += weights
                continue
            rise = self.rise[i]
            g += self.rise_to_g[i] * rise
            rise *= self.rise_decay[i]
            rise += self.jump[i] * weights


def _beta_factor(t, tau_rise, tau_decay, expm1=expm1_exact):
    """``(1 - exp(-a t)) / a`` with ``a = 1/tau_rise - 1/tau_decay`` (``t`` when
    ``a == 0``): the conductance at ``t`` per unit rise term, over
    ``exp(-t/tau_decay)``; written with expm1 so that it stays exact as the
    two time constants meet."""
    a = 1.0 / np.asarray(tau_rise, dtype=np.float64) - 1.0 / np.asarray(tau_decay,
                                                                        dtype=np.float64)
    same = a == 0.0
    safe = np.where(same, 1.0, a)
    return np.where(same, t, -expm1(-np.asarray(t * safe, dtype=np.float64)) / safe)


def _beta_normalisation(tau_rise, tau_decay):
    """Rise term (1/ms) per unit weight that makes the conductance peak at the
    weight (the alpha function's ``e/tau`` when the time constants are equal).

    >>> float(_beta_normalisation(np.array([2.0]), np.array([2.0]))[0]) == math.e / 2.0
    True
    """
    tau_rise = np.asarray(tau_rise, dtype=np.float64)
    tau_decay = np.asarray(tau_decay, dtype=np.float64)
    same = tau_rise == tau_decay
    ratio = np.where(same, 2.0, tau_decay / tau_rise)
    t_peak = np.where(same, tau_decay,
                      tau_rise * tau_decay * np.log(ratio)
                      / np.where(same, 1.0, tau_decay - tau_rise))
    peak = exact_exp(-t_peak / tau_decay) * _beta_factor(t_peak, tau_rise, tau_decay)
    return 1.0 / peak


class _PointMixin:
    """What every composed neuron adds to its monolithic base: ``n_receptors``
    input rows per step, one per receptor in order; its receptors' time
    constants checked before anything divides by them."""
    receptors: tuple = ()
    n_receptors = 0

    def set_parameters(self, params: dict) -> None:
        names = [f"{r}.{n}" for r, kind in self.receptors for n in RESPONSES[kind][0]
                 if n.startswith("tau")]
        _positive(params, names, type(self).__name__, self.gids)
        super().set_parameters(params)

    def step(self, k: int, *inputs):
        # the synapse component takes all rows where the monolith takes (exc, inh)
        return super().step(k, inputs, None)


class _CurrentLIF(_PointMixin, LIFGroup):
    pass


class _ConductanceLIF(_PointMixin, ConductanceLIFGroup):
    pass


class _ConductanceAdEx(_PointMixin, AdExGroup):
    pass


@functools.lru_cache(maxsize=None)
def point_neuron_class(name: str) -> type:
    """The cell group class of a ``PointNeuron:...`` engine model."""
    membrane, receptors = parse(name)
    current = {kind == "CurrExp" for _, kind in receptors}
    if len(current) != 1:
        raise ValueError(f"{name!r}: current- and conductance-based receptors cannot be "
                         "mixed in one neuron")
    current = current.pop()
    synapse_attrs = {"receptors": receptors,
                     "parameters": _receptor_names(receptors, "parameters"),
                     "state": _receptor_names(receptors, "state")}
    if current:
        if membrane != "LIF":
            raise ValueError(f"{name!r}: current-based receptors need the LIF membrane "
                             f"(not {membrane})")
        base, syn_base = _CurrentLIF, CurrentReceptors
    elif membrane == "LIF":
        base, syn_base = _ConductanceLIF, ConductanceReceptors
    elif membrane == "AdExp":
        base, syn_base = _ConductanceAdEx, ConductanceReceptors
    else:
        raise ValueError(f"{name!r}: unknown membrane {membrane!r} (LIF or AdExp)")
    synapse = type("Receptors", (syn_base,), synapse_attrs)
    own = ("w",) if membrane == "AdExp" else ()
    return type(name, (base,), {
        "synapse_class": synapse, "receptors": receptors, "n_receptors": len(receptors),
        "recordable": ("spikes", "v") + own + synapse_attrs["state"],
        "__doc__": f"PyNN's PointNeuron: {membrane} with receptors "
                   + ", ".join(f"{r} ({kind})" for r, kind in receptors) + "."})
