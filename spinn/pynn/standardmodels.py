"""Standard cell and synapse types spinn provides.

Native names and units are PyNN's own, so the translations are identities;
the engine's models (:mod:`spinn.models`) read PyNN's parameter names.
"""
from pyNN.standardmodels import build_translations, cells, synapses

from .simulator import state


def _identity(*names):
    return build_translations(*[(n, n) for n in names])


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


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = _identity("weight", "delay")

    def _get_minimum_delay(self):
        d = state.min_delay
        return state.dt if d == "auto" else d


def _not_yet(name):
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            f"{name} is not available in spinn yet; available cell types: "
            "IF_curr_exp, IF_curr_delta, SpikeSourceArray, SpikeSourcePoisson")
    return type(name, (getattr(cells, name),), {"__init__": __init__})


IF_curr_alpha = _not_yet("IF_curr_alpha")
IF_cond_exp = _not_yet("IF_cond_exp")
IF_cond_alpha = _not_yet("IF_cond_alpha")
Izhikevich = _not_yet("Izhikevich")
EIF_cond_exp_isfa_ista = _not_yet("EIF_cond_exp_isfa_ista")
EIF_cond_alpha_isfa_ista = _not_yet("EIF_cond_alpha_isfa_ista")
HH_cond_exp = _not_yet("HH_cond_exp")
SpikeSourceGamma = _not_yet("SpikeSourceGamma")
SpikeSourcePoissonRefractory = _not_yet("SpikeSourcePoissonRefractory")
