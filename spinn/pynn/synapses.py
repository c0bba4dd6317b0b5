"""PyNN's STDP classes for spinn (and sPyNNaker's SpikeNearestPairRule), and its
short-term synapse types (Tsodyks-Markram, stochastic, multi-quantal).

Native names are PyNN's own (identity translations). A plastic projection's
rule is turned into a :class:`spinn.plasticity.PlasticitySpec`; the
per-synapse ``weight`` and ``delay`` may be scalars or RandomDistributions as
for static synapses, the rule's parameters must be scalars. A short-term
synapse type becomes a :class:`spinn.shortterm.ShortTermSpec`, each of whose
parameters may be given per synapse as weights are.
"""
from __future__ import annotations

import numpy as np
from lazyarray import larray
from pyNN.standardmodels import synapses

from ..errors import NetworkError
from ..plasticity import PlasticitySpec
from ..shortterm import MODELS, ShortTermSpec, check_spec
from .standardmodels import MinimumDelayDefault
from .standardmodels import identity_translations as _identity


class STDPMechanism(MinimumDelayDefault, synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = _identity("weight", "delay", "dendritic_delay_fraction")

    def __init__(self, timing_dependence=None, weight_dependence=None,
                 voltage_dependence=None, dendritic_delay_fraction=1.0, weight=0.0,
                 delay=None):
        # PyNN checks these with bare asserts: say what is wrong instead
        for name, value, kind in (("timing_dependence", timing_dependence,
                                   synapses.STDPTimingDependence),
                                  ("weight_dependence", weight_dependence,
                                   synapses.STDPWeightDependence)):
            if value is not None and not isinstance(value, kind):
                raise TypeError(f"STDPMechanism: {name} must be a {kind.__name__} "
                                f"(e.g. sim.SpikePairRule()), got {value!r}")
        if (isinstance(dendritic_delay_fraction, bool)
                or not isinstance(dendritic_delay_fraction, (int, float))
                or not 0 <= dendritic_delay_fraction <= 1):
            raise ValueError(f"STDPMechanism: dendritic_delay_fraction="
                             f"{dendritic_delay_fraction!r} must be a number in [0, 1]")
        super().__init__(timing_dependence, weight_dependence, voltage_dependence,
                         dendritic_delay_fraction, weight, delay)


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = _identity(*synapses.SpikePairRule.default_parameters)
    engine_rule = "pair"


class SpikeNearestPairRule(synapses.SpikePairRule):
    """Nearest-neighbour spike pairing (sPyNNaker's ``SpikeNearestPairRule``):
    each spike pairs only with the nearest earlier spike of the other side."""
    translations = _identity(*synapses.SpikePairRule.default_parameters)
    engine_rule = "nearest"


class Vogels2011Rule(synapses.Vogels2011Rule):
    __doc__ = synapses.Vogels2011Rule.__doc__
    translations = _identity(*synapses.Vogels2011Rule.default_parameters)
    engine_rule = "vogels"


def _weight_dependence(base, mu_plus, mu_minus):
    class Dependence(base):
        __doc__ = base.__doc__
        translations = _identity(*base.default_parameters)
        mu = (mu_plus, mu_minus)
    Dependence.__name__ = Dependence.__qualname__ = base.__name__
    return Dependence


AdditiveWeightDependence = _weight_dependence(synapses.AdditiveWeightDependence, 0.0, 0.0)
MultiplicativeWeightDependence = _weight_dependence(
    synapses.MultiplicativeWeightDependence, 1.0, 1.0)
AdditivePotentiationMultiplicativeDepression = _weight_dependence(
    synapses.AdditivePotentiationMultiplicativeDepression, 0.0, 1.0)
GutigWeightDependence = _weight_dependence(synapses.GutigWeightDependence, None, None)


def _scalar(ps, name, label):
    value = ps[name]
    if isinstance(value, larray):
        if not value.is_homogeneous:
            raise NetworkError(f"Projection '{label}': STDP parameter {name} must be a "
                               "single number")
        value = value.base_value if not value.operations else value.evaluate(simplify=True)
    value = float(np.asarray(value).ravel()[0])
    if not np.isfinite(value):
        raise NetworkError(f"Projection '{label}': STDP parameter {name}={value} must be a "
                           "finite number")
    return value


def plasticity_spec(mechanism: STDPMechanism, label: str) -> PlasticitySpec:
    """The engine's description of an STDPMechanism."""
    td, wd = mechanism.timing_dependence, mechanism.weight_dependence
    if mechanism.voltage_dependence is not None:
        raise NotImplementedError(f"Projection '{label}': voltage-dependent STDP is not "
                                  "supported")
    if not hasattr(td, "engine_rule") or not hasattr(wd, "mu"):
        raise NotImplementedError(
            f"Projection '{label}': use spinn's STDP classes (sim.SpikePairRule, "
            "sim.AdditiveWeightDependence, ...), got "
            f"{type(td).__name__} and {type(wd).__name__}")
    ps = mechanism.native_parameters
    ps.shape = (1,)
    params = {name: _scalar(ps, name, label) for name in td.default_parameters}
    w_min, w_max = _scalar(ps, "w_min", label), _scalar(ps, "w_max", label)
    if not w_max > w_min:
        raise NetworkError(f"Projection '{label}': w_max={w_max} must exceed w_min={w_min}")
    mu_plus, mu_minus = wd.mu
    if mu_plus is None:
        mu_plus, mu_minus = _scalar(ps, "mu_plus", label), _scalar(ps, "mu_minus", label)
    fraction = float(mechanism.dendritic_delay_fraction)
    if not 0.0 <= fraction <= 1.0:
        raise NetworkError(f"Projection '{label}': dendritic_delay_fraction={fraction} must "
                           "lie in [0, 1]")
    return PlasticitySpec(timing=td.engine_rule, params=params, w_min=w_min, w_max=w_max,
                          mu_plus=mu_plus, mu_minus=mu_minus,
                          dendritic_delay_fraction=fraction)


class ShortTermSynapse(MinimumDelayDefault):
    """A synapse type with short-term dynamics (:mod:`spinn.shortterm`): every
    parameter may differ between synapses, like weight and delay."""
    short_term_model: str = ""


class TsodyksMarkramSynapse(ShortTermSynapse, synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = _identity(*synapses.TsodyksMarkramSynapse.default_parameters)
    short_term_model = "tsodyks_markram"


class StochasticTsodyksMarkramSynapse(ShortTermSynapse,
                                      synapses.StochasticTsodyksMarkramSynapse):
    __doc__ = synapses.StochasticTsodyksMarkramSynapse.__doc__
    translations = _identity(*synapses.StochasticTsodyksMarkramSynapse.default_parameters)
    short_term_model = "stochastic_tsodyks_markram"


class MultiQuantalSynapse(ShortTermSynapse, synapses.MultiQuantalSynapse):
    """Quantal release at ``n`` sites with Tsodyks-Markram dynamics (NEST's
    ``quantal_stp_synapse``, Loebel et al. 2009): at each spike every empty
    site refills with probability ``1 - exp(-h/tau_rec)``, then every full site
    releases with probability ``u`` (facilitated towards ``U`` with
    ``tau_facil``); the spike carries ``weight`` times the number of sites
    released. ``Projection.initialize(a=..., u=...)`` sets the full sites and
    the utilisation (by default ``n`` and ``U``)."""
    translations = _identity(*synapses.MultiQuantalSynapse.default_parameters)
    short_term_model = "multiquantal"


class SimpleStochasticSynapse(ShortTermSynapse, synapses.SimpleStochasticSynapse):
    """Each spike is transmitted with probability ``p`` (per synapse; NEST's
    ``bernoulli_synapse``). The draws come from spinn's keyed streams: the
    same on any number of MPI ranks."""
    translations = _identity(*synapses.SimpleStochasticSynapse.default_parameters)
    short_term_model = "stochastic"


def short_term_spec(synapse: ShortTermSynapse, values: dict, seed: int,
                    label: str) -> ShortTermSpec:
    """The engine's description of a short-term synapse type; ``values``: its
    parameters as synaptic values (numbers, random values, arrays ...)."""
    spec = ShortTermSpec(model=synapse.short_term_model,
                         params=tuple((name, values[name])
                                      for name in MODELS[synapse.short_term_model]),
                         seed=seed)
    check_spec(spec, label)
    return spec
