"""Standard cell and synapse types spinn provides.

Native names and units are PyNN's own, so the translations are identities;
the engine's models (:mod:`spinn.models`) read PyNN's parameter names.
"""
from pyNN.standardmodels import build_translations, cells, synapses

from .simulator import state


def identity_translations(*names):
    """PyNN translations that keep every name and value (spinn's native
    names and units are PyNN's)."""
    return build_translations(*[(n, n) for n in names])


_identity = identity_translations


class MinimumDelayDefault:
    """Synapse types whose default delay is ``min_delay`` (one timestep when
    ``min_delay='auto'``)."""

    def _get_minimum_delay(self):
        d = state.min_delay
        return state.dt if d == "auto" else d


class IF_curr_exp(cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = _identity(*cells.IF_curr_exp.default_parameters)
    engine_model = "IF_curr_exp"


class IF_curr_delta(cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    translations = _identity(*cells.IF_curr_delta.default_parameters)
    engine_model = "IF_curr_delta"


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = _identity(*cells.SpikeSourcePoisson.default_parameters)
    engine_model = "SpikeSourcePoisson"


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = _identity("spike_times")
    engine_model = "SpikeSourceArray"


class StaticSynapse(MinimumDelayDefault, synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = _identity("weight", "delay")


class IF_curr_alpha(cells.IF_curr_alpha):
    __doc__ = cells.IF_curr_alpha.__doc__
    translations = _identity(*cells.IF_curr_alpha.default_parameters)
    engine_model = "IF_curr_alpha"


class IF_cond_exp(cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    translations = _identity(*cells.IF_cond_exp.default_parameters)
    engine_model = "IF_cond_exp"


class IF_cond_alpha(cells.IF_cond_alpha):
    __doc__ = cells.IF_cond_alpha.__doc__
    translations = _identity(*cells.IF_cond_alpha.default_parameters)
    engine_model = "IF_cond_alpha"


class Izhikevich(cells.Izhikevich):
    __doc__ = cells.Izhikevich.__doc__
    translations = _identity(*cells.Izhikevich.default_parameters)
    engine_model = "Izhikevich"


class EIF_cond_exp_isfa_ista(cells.EIF_cond_exp_isfa_ista):
    __doc__ = cells.EIF_cond_exp_isfa_ista.__doc__
    translations = _identity(*cells.EIF_cond_exp_isfa_ista.default_parameters)
    engine_model = "EIF_cond_exp_isfa_ista"


class EIF_cond_alpha_isfa_ista(cells.EIF_cond_alpha_isfa_ista):
    __doc__ = cells.EIF_cond_alpha_isfa_ista.__doc__
    translations = _identity(*cells.EIF_cond_alpha_isfa_ista.default_parameters)
    engine_model = "EIF_cond_alpha_isfa_ista"


class HH_cond_exp(cells.HH_cond_exp):
    __doc__ = cells.HH_cond_exp.__doc__
    translations = _identity(*cells.HH_cond_exp.default_parameters)
    engine_model = "HH_cond_exp"


class SpikeSourceGamma(cells.SpikeSourceGamma):
    __doc__ = cells.SpikeSourceGamma.__doc__
    translations = _identity(*cells.SpikeSourceGamma.default_parameters)
    engine_model = "SpikeSourceGamma"


class SpikeSourcePoissonRefractory(cells.SpikeSourcePoissonRefractory):
    __doc__ = cells.SpikeSourcePoissonRefractory.__doc__
    translations = _identity(*cells.SpikeSourcePoissonRefractory.default_parameters)
    engine_model = "SpikeSourcePoissonRefractory"


def _not_yet(name):
    def __init__(self, *args, **kwargs):
        available = sorted(n for n, obj in globals().items()
                           if isinstance(obj, type) and hasattr(obj, "engine_model"))
        raise NotImplementedError(
            f"{name} is not available in spinn yet; available cell types: "
            + ", ".join(available))
    return type(name, (getattr(cells, name),), {"__init__": __init__})


IF_cond_exp_gsfa_grr = _not_yet("IF_cond_exp_gsfa_grr")
GIF_cond_exp = _not_yet("GIF_cond_exp")
SpikeSourceInhGamma = _not_yet("SpikeSourceInhGamma")
