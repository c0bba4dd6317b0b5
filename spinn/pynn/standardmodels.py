"""Standard cell and synapse types spinn provides.

Native names and units are PyNN's own, so the translations are identities;
the engine's models (:mod:`spinn.models`) read PyNN's parameter names.
"""
from pyNN import errors
from pyNN.parameters import ParameterSpace
from pyNN.standardmodels import build_translations, cells, receptors, synapses

from ..models import point
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


# -- PyNN's composed neuron -----------------------------------------------------

class LIF(cells.LIF):
    __doc__ = cells.LIF.__doc__
    translations = _identity(*cells.LIF.default_parameters)
    engine_membrane = "LIF"


class AdExp(cells.AdExp):
    __doc__ = cells.AdExp.__doc__
    translations = _identity(*cells.AdExp.default_parameters)
    engine_membrane = "AdExp"


class CurrExpPostSynapticResponse(receptors.CurrExpPostSynapticResponse):
    __doc__ = receptors.CurrExpPostSynapticResponse.__doc__
    translations = _identity(*receptors.CurrExpPostSynapticResponse.default_parameters)
    engine_response = "CurrExp"
    recordable = ["isyn"]


class CondExpPostSynapticResponse(receptors.CondExpPostSynapticResponse):
    __doc__ = receptors.CondExpPostSynapticResponse.__doc__
    translations = _identity(*receptors.CondExpPostSynapticResponse.default_parameters)
    engine_response = "CondExp"
    recordable = ["gsyn"]


class CondAlphaPostSynapticResponse(receptors.CondAlphaPostSynapticResponse):
    __doc__ = receptors.CondAlphaPostSynapticResponse.__doc__
    translations = _identity(*receptors.CondAlphaPostSynapticResponse.default_parameters)
    engine_response = "CondAlpha"
    recordable = ["gsyn"]


class CondBetaPostSynapticResponse(receptors.CondBetaPostSynapticResponse):
    __doc__ = receptors.CondBetaPostSynapticResponse.__doc__
    translations = _identity(*receptors.CondBetaPostSynapticResponse.default_parameters)
    engine_response = "CondBeta"
    recordable = ["gsyn"]


#: short names, as pyNN.nest and pyNN.brian2 offer them
ExpPSR = CondExpPostSynapticResponse
AlphaPSR = CondAlphaPostSynapticResponse
BetaPSR = CondBetaPostSynapticResponse


class PointNeuron(cells.PointNeuron):
    """A neuron (``LIF`` or ``AdExp``) with any number of named receptor types,
    each with its own post-synaptic response; ``Projection(...,
    receptor_type="AMPA")`` targets one of them. Parameters and recorded
    variables of a receptor are named ``"<receptor>.<name>"`` (``AMPA.tau_syn``,
    ``AMPA.gsyn``). The engine model: :mod:`spinn.models.point`.

    Current-based responses take weights (nA) of either sign on any receptor;
    conductance-based ones weights (µS) >= 0.
    """

    def __init__(self, neuron, **post_synaptic_receptors):
        membrane = getattr(neuron, "engine_membrane", None)
        if membrane is None:
            raise errors.InvalidModelError(
                f"PointNeuron: neuron component {type(neuron).__name__} is not one of spinn's "
                "(LIF, AdExp)")
        if not post_synaptic_receptors:
            raise errors.InvalidModelError("PointNeuron: give at least one receptor type, "
                                           "e.g. AMPA=sim.CondExpPostSynapticResponse()")
        for name, psr in post_synaptic_receptors.items():
            if getattr(psr, "engine_response", None) is None:
                raise errors.InvalidModelError(
                    f"PointNeuron: receptor {name!r}: {type(psr).__name__} is not one of "
                    "spinn's post-synaptic responses (CurrExpPostSynapticResponse, "
                    "CondExpPostSynapticResponse, CondAlphaPostSynapticResponse, "
                    "CondBetaPostSynapticResponse)")
            if "." in name or ":" in name or "=" in name or "," in name:
                raise errors.InvalidModelError(
                    f"PointNeuron: receptor name {name!r} may not contain '.', ':', '=' or ','")
        super().__init__(neuron, **post_synaptic_receptors)
        self.conductance_based          # PyNN's check: no mixing of the two kinds
        try:
            point.point_neuron_class(self.engine_model)
        except ValueError as exc:
            raise errors.InvalidModelError(f"PointNeuron: {exc}") from None

    @property
    def engine_model(self):
        return point.model_name(self.neuron.engine_membrane, [
            (name, psr.engine_response) for name, psr in self.post_synaptic_receptors.items()])

    @property
    def injectable(self):
        return True

    @property
    def translations(self):
        names = list(self.neuron.translations)
        for r, psr in self.post_synaptic_receptors.items():
            names += [f"{r}.{n}" for n in psr.translations if n != "locations"]
        return _identity(*names)

    @property
    def native_parameters(self):
        """One flat ParameterSpace: the neuron's names, and each receptor's as
        ``"<receptor>.<name>"`` (PyNN's ``locations`` is not used)."""
        out = {name: self.neuron.parameter_space[name] for name in self.neuron.parameter_space.keys()}
        for r in self.receptor_types:
            psr_space = self.post_synaptic_receptors[r].parameter_space
            for name in psr_space.keys():
                if name != "locations":
                    out[f"{r}.{name}"] = psr_space[name]
        return ParameterSpace(out, shape=self.parameter_space.shape)

    def get_native_names(self, *names):
        return list(names) if names else list(self.translations)

    def reverse_translate(self, native_parameters):
        return ParameterSpace(dict(native_parameters.items()), shape=native_parameters.shape)

    def translate(self, parameters, copy=True):
        out = {}
        for name, value in parameters.items():
            if isinstance(value, ParameterSpace):        # {"AMPA": {"tau_syn": ...}}
                out.update({f"{name}.{n}": v for n, v in value.items()})
            else:
                out[name] = value
        return ParameterSpace(out, shape=parameters.shape)


def receptor_index(post, receptor_type: str, label: str):
    """``(weight_sign, receptor row)`` of ``receptor_type`` on the cells of
    ``post`` (a Population, view or Assembly) when some of them are
    PointNeurons, else None (the standard ``excitatory``/``inhibitory`` rows 0
    and 1 of monolithic cell types). A PointNeuron's receptor row is its place
    in PyNN's (sorted) list of receptor types; it must be the same for every
    population of ``post`` (monolithic ones included). ``weight_sign`` is what
    :func:`spinn.synapses.check_synapses` asks of the weights (0: any sign)."""
    celltypes = [p.celltype for p in getattr(post, "populations", None) or [post]]
    if not any(isinstance(c, PointNeuron) for c in celltypes):
        return None
    found = set()
    for c in celltypes:
        if receptor_type not in c.receptor_types:
            raise errors.ConnectionError(
                f"Projection '{label}': receptor type {receptor_type!r} is not one of "
                f"{type(c).__name__}'s ({', '.join(c.receptor_types)})")
        if isinstance(c, PointNeuron):
            found.add((1 if c.conductance_based else 0, c.receptor_types.index(receptor_type)))
        elif receptor_type == "excitatory":
            found.add((1, 0))
        elif receptor_type == "inhibitory":
            found.add((1 if c.conductance_based else -1, 1))
        else:
            raise errors.ConnectionError(
                f"Projection '{label}': receptor type {receptor_type!r} is not supported on "
                f"{type(c).__name__}; use 'excitatory' or 'inhibitory'")
    rows = {row for _, row in found}
    signs = {sign for sign, _ in found} - {0}
    if len(rows) != 1 or len(signs) > 1:
        raise errors.ConnectionError(
            f"Projection '{label}': receptor type {receptor_type!r} means different inputs "
            "of the post-synaptic populations (place in their receptor lists, or "
            "current- and conductance-based); connect to them in separate projections")
    return (signs.pop() if signs else 0), rows.pop()


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
