"""Standard cell and synapse types spinn provides.

Native names and units are PyNN's own, so the translations are identities;
the engine's models (:mod:`spinn.models`) read PyNN's parameter names.
"""
from pyNN import errors
import numpy as np
from pyNN.parameters import ArrayParameter, ParameterSpace
from pyNN.standardmodels import build_translations, cells, receptors, synapses

from ..models import gif, point
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


def _response(base, engine_response: str, recordable: str):
    """spinn's version of PyNN's post-synaptic response ``base``."""
    return type(base.__name__, (base,), {
        "__doc__": base.__doc__, "__module__": __name__,
        "translations": _identity(*base.default_parameters),
        "engine_response": engine_response, "recordable": [recordable]})


CurrExpPostSynapticResponse = _response(receptors.CurrExpPostSynapticResponse, "CurrExp",
                                        "isyn")
CondExpPostSynapticResponse = _response(receptors.CondExpPostSynapticResponse, "CondExp",
                                        "gsyn")
CondAlphaPostSynapticResponse = _response(receptors.CondAlphaPostSynapticResponse,
                                          "CondAlpha", "gsyn")
CondBetaPostSynapticResponse = _response(receptors.CondBetaPostSynapticResponse, "CondBeta",
                                         "gsyn")


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
        neuron = self.neuron.parameter_space
        out = {name: neuron[name] for name in neuron.keys()}
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


class IF_cond_exp_gsfa_grr(cells.IF_cond_exp_gsfa_grr):
    __doc__ = cells.IF_cond_exp_gsfa_grr.__doc__
    translations = _identity(*cells.IF_cond_exp_gsfa_grr.default_parameters)
    engine_model = "IF_cond_exp_gsfa_grr"


#: GIF_cond_exp's array parameters, in (time constants, increments) pairs
_GIF_ARRAYS = (("tau_eta", "a_eta"), ("tau_gamma", "a_gamma"))


class GIF_cond_exp(cells.GIF_cond_exp):
    __doc__ = cells.GIF_cond_exp.__doc__ + """
    spinn: the engine model (:mod:`spinn.models.gif`) has one parameter per
    exponential component (``tau_eta_0``, ...); every neuron of a population
    has the same number of components.
    """
    translations = _identity(*cells.GIF_cond_exp.default_parameters)

    def _components(self, parameters):
        """``{name: 2-D array (neurons or 1, components)}`` of the array
        parameters of ``parameters``, checked."""
        out = {}
        for name in ("tau_eta", "a_eta", "tau_gamma", "a_gamma"):
            value = parameters[name]
            if value.is_homogeneous:
                rows = np.atleast_2d(np.asarray(value.base_value.value
                                                if isinstance(value.base_value, ArrayParameter)
                                                else value.base_value, dtype=float))
            else:
                rows = [np.asarray(getattr(v, "value", v), dtype=float).ravel()
                        for v in np.asarray(value.evaluate(simplify=False), dtype=object)]
                if len({r.size for r in rows}) > 1:
                    raise errors.InvalidParameterValueError(
                        f"GIF_cond_exp: {name} has arrays of different lengths; every neuron "
                        "of a population needs the same number of components")
                rows = np.array(rows, dtype=float)
            out[name] = rows
        for tau, a in _GIF_ARRAYS:
            if out[tau].shape[1] != out[a].shape[1]:
                raise errors.InvalidParameterValueError(
                    f"GIF_cond_exp: {tau} has {out[tau].shape[1]} components, {a} "
                    f"{out[a].shape[1]}; they must have the same number")
        return out

    @property
    def engine_model(self):
        parts = self._components(self.parameter_space)
        return gif.model_name(parts["tau_eta"].shape[1], parts["tau_gamma"].shape[1])

    @property
    def native_parameters(self):
        ps = self.parameter_space
        out = {name: ps[name] for name in ps.keys() if name not in ("tau_eta", "a_eta",
                                                                     "tau_gamma", "a_gamma")}
        for name, rows in self._components(ps).items():
            for j in range(rows.shape[1]):
                column = rows[:, j]
                out[f"{name}_{j}"] = (float(column[0]) if np.all(column == column[0])
                                      else column)
        return ParameterSpace(out, shape=ps.shape)

    def get_native_names(self, *names):
        names = names or tuple(self.translations)
        model = MODELS_LOOKUP(self.engine_model)
        out = []
        for name in names:
            if name in ("tau_eta", "a_eta", "tau_gamma", "a_gamma"):
                n = model.n_eta if name.endswith("eta") else model.n_gamma
                out += [f"{name}_{j}" for j in range(n)]
            else:
                out.append(name)
        return out

    def reverse_translate(self, native_parameters):
        values = dict(native_parameters.items())
        out = {}
        arrays = {}
        for name, value in values.items():
            base, _, index = name.rpartition("_")
            if base in ("tau_eta", "a_eta", "tau_gamma", "a_gamma") and index.isdigit():
                arrays.setdefault(base, {})[int(index)] = value
            else:
                out[name] = value
        for base, parts in arrays.items():
            columns = [parts[j] for j in range(len(parts))]
            if all(c.is_homogeneous for c in columns):
                out[base] = ArrayParameter([float(c.base_value) for c in columns])
            else:
                matrix = np.stack([np.asarray(c.evaluate(simplify=False), dtype=float)
                                   for c in columns], axis=1)
                column = np.empty(matrix.shape[0], dtype=object)
                column[:] = [ArrayParameter(row) for row in matrix]
                out[base] = column
        return ParameterSpace(out, schema=self.get_schema(), shape=native_parameters.shape)

    def translate(self, parameters, copy=True):
        if not any(n in parameters.keys() for n in ("tau_eta", "a_eta", "tau_gamma",
                                                     "a_gamma")):
            return super().translate(parameters, copy)
        raise NotImplementedError(
            "GIF_cond_exp: changing tau_eta, a_eta, tau_gamma or a_gamma of a population is "
            "not supported yet; give them when creating it")


def MODELS_LOOKUP(name):
    from ..models import MODELS
    return MODELS[name]


SpikeSourceInhGamma = _not_yet("SpikeSourceInhGamma")
