"""The rules every value of a network description must keep, in one place.

Each population parameter, initial value, spike time and current-source
parameter is checked when the call that sets it records it in the
:class:`~spinn.network.NetworkDraft` (``Population(...)``, ``set()``,
``initialize()``, a current source's constructor or parameter change), and
once more where a rank evaluates its slices at build time (what a
``RandomDistribution`` draws is only known there for neurons past the first
:data:`~spinn.values.NEURON_BLOCK`). Synaptic weights and delays are checked
by :func:`spinn.synapses.check_synapses` (the same two moments).

A broken value gives one :class:`~spinn.errors.NetworkError` (a
``ValueError``) naming the object, the parameter and the value, and the
rule it breaks; nothing reaches the models' arithmetic. The rules:

* every value is finite (no NaN, no infinity);
* :data:`RULES`: per model, the parameters that must be ``> 0`` (time
  constants, capacitances, the gamma shape, a noise interval) or ``>= 0``
  (refractory periods, rates, conductances, start times and durations);
* :data:`RELATIONS`: per model, what must hold between parameters
  (``v_reset < v_thresh`` for the integrate-and-fire models, as NEST
  requires; ``v_reset`` below the AdEx spike cut-off; a dead time the rate
  leaves room for).

Time constants of ``0`` are refused because every model divides by them;
refractory periods of ``0`` are allowed (no dead time).
"""
from __future__ import annotations

import math

import numpy as np

from .errors import NetworkError

__all__ = ["RULES", "RELATIONS", "UNITS", "check_population", "check_neuron_values",
           "check_current_source", "check_run_time", "check_size", "Unnamed", "describe_value"]

POSITIVE, NON_NEGATIVE = "> 0", ">= 0"

_LIF = {"tau_m": POSITIVE, "cm": POSITIVE, "tau_refrac": NON_NEGATIVE}
_SYN = {"tau_syn_E": POSITIVE, "tau_syn_I": POSITIVE}
_TIMES = {"start": NON_NEGATIVE, "duration": NON_NEGATIVE}

#: engine model -> parameter -> rule; parameters not listed need only be finite
RULES = {
    "IF_curr_exp": {**_LIF, **_SYN},
    "IF_curr_alpha": {**_LIF, **_SYN},
    "IF_curr_delta": dict(_LIF),
    "IF_cond_exp": {**_LIF, **_SYN},
    "IF_cond_alpha": {**_LIF, **_SYN},
    "EIF_cond_exp_isfa_ista": {**_LIF, **_SYN, "tau_w": POSITIVE, "delta_T": NON_NEGATIVE},
    "EIF_cond_alpha_isfa_ista": {**_LIF, **_SYN, "tau_w": POSITIVE, "delta_T": NON_NEGATIVE},
    "HH_cond_exp": {"cm": POSITIVE, "gbar_Na": NON_NEGATIVE, "gbar_K": NON_NEGATIVE,
                    "g_leak": NON_NEGATIVE, **_SYN},
    "Izhikevich": {},
    "Izhikevich_curr_exp": dict(_SYN),
    "SpikeSourcePoisson": {"rate": NON_NEGATIVE, **_TIMES},
    "SpikeSourcePoissonRefractory": {"rate": NON_NEGATIVE, "tau_refrac": NON_NEGATIVE,
                                     **_TIMES},
    "SpikeSourceGamma": {"alpha": POSITIVE, "beta": NON_NEGATIVE, **_TIMES},
    "SpikeSourceArray": {},
    "SpikeInjector": {"port": NON_NEGATIVE, "database_notify_port_num": NON_NEGATIVE},
    "NIR_neuron": {"dt": POSITIVE, "tau_mem": POSITIVE, "tau_syn": POSITIVE},
    "IF_cond_exp_gsfa_grr": {**_LIF, **_SYN, "tau_sfa": POSITIVE, "tau_rr": POSITIVE},
    "GIF_cond_exp": {**_LIF, **_SYN, "delta_v": POSITIVE, "lambda0": NON_NEGATIVE},
}

#: current source kind -> parameter -> rule (every parameter must be finite)
SOURCE_RULES = {
    "dc": {"start": NON_NEGATIVE, "stop": NON_NEGATIVE},
    "ac": {"start": NON_NEGATIVE, "stop": NON_NEGATIVE, "frequency": NON_NEGATIVE},
    "step": {"times": NON_NEGATIVE},
    "noisy": {"start": NON_NEGATIVE, "stop": NON_NEGATIVE, "stdev": NON_NEGATIVE,
              "dt": POSITIVE},
}

#: parameter -> unit, for messages
UNITS = {"tau_m": "ms", "tau_refrac": "ms", "tau_syn_E": "ms", "tau_syn_I": "ms",
         "tau_w": "ms", "start": "ms", "duration": "ms", "stop": "ms", "times": "ms",
         "dt": "ms", "spike_times": "ms", "delta_T": "mV", "cm": "nF", "rate": "Hz",
         "beta": "Hz", "frequency": "Hz", "i_offset": "nA", "amplitude": "nA",
         "amplitudes": "nA", "offset": "nA", "mean": "nA", "stdev": "nA", "phase": "deg",
         "a": "", "b": "", "c": "", "d": "", "alpha": "",
         "gbar_Na": "uS", "gbar_K": "uS", "g_leak": "uS", "isyn_exc": "nA", "isyn_inh": "nA",
         "gsyn_exc": "uS", "gsyn_inh": "uS", "w": "nA", "u": "", "m": "", "n": "", "h": ""}


def _unit(name: str) -> str:
    if name in UNITS:
        return UNITS[name]
    if name.startswith(("v_", "e_rev", "v")):
        return "mV"
    return ""


def _fmt(value, name: str = "") -> str:
    unit = _unit(name)
    return f"{float(value):g}" + (f" {unit}" if unit else "")


# -- relations between parameters ---------------------------------------------------

def _reset_below_threshold(p, dt):
    return (p["v_reset"] < p["v_thresh"],
            lambda i: f"v_reset = {_fmt(_at(p['v_reset'], i), 'v')} must be below v_thresh = "
                      f"{_fmt(_at(p['v_thresh'], i), 'v')} (a neuron reset at or above its "
                      "threshold would fire in every step; NEST refuses this too)")


def _adex_peak(p, dt):
    exponential = np.asarray(p["delta_T"]) > 0
    peak = np.where(exponential, p["v_spike"], p["v_thresh"])
    ok = (p["v_reset"] < peak) & (~exponential | (np.asarray(p["v_spike"]) > p["v_thresh"]))
    return (ok, lambda i: (
        f"v_reset = {_fmt(_at(p['v_reset'], i), 'v')}, v_thresh = "
        f"{_fmt(_at(p['v_thresh'], i), 'v')}, v_spike = {_fmt(_at(p['v_spike'], i), 'v')}, "
        f"delta_T = {_fmt(_at(p['delta_T'], i), 'delta_T')}: v_reset must be below the spike "
        "cut-off (v_spike, or v_thresh when delta_T = 0) and v_spike above v_thresh when "
        "delta_T > 0"))


def _adex_exponent(p, dt):
    from .models.adex import MAX_EXPONENT
    exponential = np.asarray(p["delta_T"]) > 0
    safe = np.where(exponential, p["delta_T"], 1.0)
    ok = ~exponential | ((np.asarray(p["v_spike"]) - p["v_thresh"]) / safe < MAX_EXPONENT)
    return (ok, lambda i: (
        f"(v_spike - v_thresh)/delta_T = ({_fmt(_at(p['v_spike'], i))} - "
        f"{_fmt(_at(p['v_thresh'], i))})/{_fmt(_at(p['delta_T'], i))} is too large: exp() "
        "would overflow; raise delta_T or lower v_spike"))


def _dead_time_fits(p, dt):
    rate_ms = np.asarray(p["rate"], dtype=np.float64) / 1000.0
    steps = np.rint(np.asarray(p["tau_refrac"], dtype=np.float64) / dt)
    ok = (steps == 0) | (rate_ms * (steps + 1) * dt <= 1.0)
    return (ok, lambda i: (
        f"rate = {_fmt(_at(p['rate'], i), 'rate')} is too high for tau_refrac = "
        f"{_fmt(_at(p['tau_refrac'], i), 'tau_refrac')}: a neuron fires at most once every "
        "tau_refrac + dt; lower the rate or tau_refrac"))


_LIF_RELATIONS = ((("v_reset", "v_thresh"), _reset_below_threshold),)
_ADEX_RELATIONS = ((("v_reset", "v_thresh", "v_spike", "delta_T"), _adex_peak),
                   (("v_thresh", "v_spike", "delta_T"), _adex_exponent))

#: engine model -> ``(parameters, f)``: ``f(params, dt) -> (ok, message(i))``
#: checks a relation between the parameters
RELATIONS = {
    "IF_curr_exp": _LIF_RELATIONS,
    "IF_curr_alpha": _LIF_RELATIONS,
    "IF_curr_delta": _LIF_RELATIONS,
    "IF_cond_exp": _LIF_RELATIONS,
    "IF_cond_alpha": _LIF_RELATIONS,
    "EIF_cond_exp_isfa_ista": _ADEX_RELATIONS,
    "EIF_cond_alpha_isfa_ista": _ADEX_RELATIONS,
    "IF_cond_exp_gsfa_grr": _LIF_RELATIONS,
    "SpikeSourcePoissonRefractory": ((("rate", "tau_refrac"), _dead_time_fits),),
}


# -- checks ---------------------------------------------------------------------------

class Unnamed(NetworkError):
    """A bad value found where the owning object is not known yet; the caller
    that knows it re-raises it as a NetworkError naming the object."""


def _at(value, i):
    return value if np.ndim(value) == 0 else np.asarray(value)[i]


def _first_bad(ok) -> int | None:
    ok = np.asarray(ok, dtype=bool)
    if ok.all():
        return None
    return int(np.flatnonzero(~ok.ravel())[0]) if ok.ndim else 0


def _where(value, i, first_index, item: str = "neuron") -> str:
    """`` (neuron n)`` of element ``i`` of a per-neuron array; ``first_index``
    is the neuron of element 0, or an array of the neurons of every element."""
    if np.ndim(value) == 0:
        return ""
    n = first_index[i] if np.ndim(first_index) else first_index + i
    return f" ({item} {int(n)})"


def _check_rule(owner: str, what: str, name: str, value, rule: str | None,
                first_index=0, item: str = "neuron") -> None:
    v = np.asarray(value, dtype=np.float64)
    i = _first_bad(np.isfinite(v))
    if i is not None:
        raise NetworkError(f"{owner}: {what}{name} = {_fmt(v.ravel()[i], name)}"
                           f"{_where(v, i, first_index, item)} is not a finite number")
    if rule == POSITIVE:
        i = _first_bad(v > 0)
    elif rule == NON_NEGATIVE:
        i = _first_bad(v >= 0)
    if rule is not None and i is not None:
        raise NetworkError(f"{owner}: {what}{name} = {_fmt(v.ravel()[i], name)}"
                           f"{_where(v, i, first_index, item)} "
                           + ("is negative: it must be >= 0" if rule == NON_NEGATIVE
                              else f"must be {rule}"))


def check_neuron_values(owner: str, model: str, params: dict, initial: dict, dt: float,
                        first_index: int = 0) -> None:
    """Check per-neuron values (numbers, or arrays over the same neurons
    ``first_index, first_index + 1, ...``) of a population of ``model``."""
    rules = RULES.get(model, {})
    for name, value in params.items():
        _check_rule(owner, "", name, value, rules.get(name), first_index)
    for name, value in initial.items():
        _check_rule(owner, "initial value of ", name, value, None, first_index)
    for names, relation in RELATIONS.get(model, ()):
        if not all(n in params for n in names):
            continue
        ok, message = relation(params, dt)
        i = _first_bad(ok)
        if i is not None:
            where = _where(ok, i, first_index)
            raise NetworkError(f"{owner}: {message(i)}{where}")



def check_population(spec, dt: float) -> None:
    """Check a :class:`~spinn.network.PopulationSpec`: its size, spike times,
    and its parameters and initial values (numbers and arrays whole; random
    values on the neurons of their first block, the rest at build)."""
    from .values import NEURON_BLOCK, RandomValue, take
    owner = f"{spec.describe()} ({spec.model})"
    check_size(spec.size, spec.label)
    # random values on their first block (the rest at build); arrays, which
    # exist whole anyway, whole; nothing sized by the population otherwise
    values = list(spec.params.values()) + list(spec.initial.values())
    random = any(isinstance(v, RandomValue) for v in values)
    index = np.arange(min(spec.size, NEURON_BLOCK), dtype=np.int64)

    def sample(value):
        if isinstance(value, RandomValue) or (random and isinstance(value, np.ndarray)
                                              and value.ndim and index.size < spec.size):
            return take(value, index)
        return value
    check_neuron_values(owner, spec.model, {k: sample(v) for k, v in spec.params.items()},
                        {k: sample(v) for k, v in spec.initial.items()}, dt)
    times = spec.spike_times
    if times is not None and times.times.size:
        t = times.times
        i = _first_bad(np.isfinite(t) & (t >= 0))
        if i is not None:
            raise NetworkError(f"{owner}: spike time {_fmt(t[i], 'spike_times')} must be a "
                               "finite number >= 0")


def check_size(size, label) -> None:
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) \
            or size < 1:
        raise NetworkError(f"Population '{label}': size {size!r} must be a whole number >= 1")


def check_current_source(owner: str, kind: str, params: dict) -> None:
    """Check a current source's parameters (the public ones, PyNN's names)."""
    rules = SOURCE_RULES.get(kind, {})
    for name, value in params.items():
        if name.startswith("_") or value is None:
            continue
        _check_rule(owner, "", name, value, rules.get(name), item="entry")
    if "start" in params and "stop" in params and params["stop"] is not None \
            and float(params["stop"]) < float(params["start"]):
        raise NetworkError(f"{owner}: stop = {_fmt(params['stop'], 'stop')} must not be "
                           f"before start = {_fmt(params['start'], 'start')}")


def check_run_time(what: str, value) -> float:
    """A run length or end time in ms: a finite number >= 0."""
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise NetworkError(f"{what}({value!r}): the time must be a number of ms") from None
    if not math.isfinite(t) or t < 0:
        raise NetworkError(f"{what}({t!r}): the time must be a finite number of ms >= 0")
    return t


def describe_value(value) -> str:
    describe = getattr(value, "describe", None)
    return describe() if describe is not None else repr(value)


def check_spec(group: str, spec, dt: float) -> None:
    """What :class:`~spinn.network.NetworkDraft` calls when it records ``spec``."""
    if group == "populations":
        check_population(spec, dt)
    elif group == "current_sources":
        check_current_source(spec.describe(), spec.kind, spec.params)


def check_slice(pop, params: dict, initial: dict, lo, dt: float) -> None:
    """Check the evaluated values of neurons ``lo, lo + 1, ...`` (or of the
    neurons in the array ``lo``) of ``pop``: what a rank builds (random values
    are known only here past the first block)."""
    check_neuron_values(f"{pop.describe()} ({pop.model})", pop.model, params, initial, dt,
                        first_index=lo)
