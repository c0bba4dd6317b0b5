"""PyNN's STDP classes for spinn (and sPyNNaker's SpikeNearestPairRule).

Native names are PyNN's own (identity translations). A plastic projection's
rule is turned into a :class:`spinn.plasticity.PlasticitySpec`; the
per-synapse ``weight`` and ``delay`` may be scalars or RandomDistributions as
for static synapses, the rule's parameters must be scalars.
"""
from __future__ import annotations

import numpy as np
from lazyarray import larray
from pyNN.standardmodels import synapses

from ..errors import NetworkError
from ..plasticity import PlasticitySpec
from ..shortterm import ShortTermSpec
from .standardmodels import MinimumDelayDefault
from .standardmodels import identity_translations as _identity


class STDPMechanism(MinimumDelayDefault, synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = _identity("weight", "delay", "dendritic_delay_fraction")


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
    return float(np.asarray(value).ravel()[0])


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
    return PlasticitySpec(timing=td.engine_rule, params=params, w_min=w_min, w_max=w_max,
                          mu_plus=mu_plus, mu_minus=mu_minus,
                          dendritic_delay_fraction=float(mechanism.dendritic_delay_fraction))


class TsodyksMarkramSynapse(MinimumDelayDefault, synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = _identity(*synapses.TsodyksMarkramSynapse.default_parameters)


def short_term_spec(synapse: TsodyksMarkramSynapse, label: str) -> ShortTermSpec:
    ps = synapse.native_parameters
    ps.shape = (1,)
    return ShortTermSpec(U=_scalar(ps, "U", label), tau_rec=_scalar(ps, "tau_rec", label),
                         tau_facil=_scalar(ps, "tau_facil", label))
