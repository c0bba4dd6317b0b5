"""sPyNNaker's ``extra_models`` as far as spinn has them.

Available: ``IF_curr_delta`` (also ``IFCurrDelta``), ``Izhikevich_curr_exp``,
``SpikeNearestPairRule``, ``Vogels2011Rule``, ``SpikeSourceGamma``,
``SpikeSourcePoissonRefractory``, ``IF_cond_alpha``, ``HH_cond_exp``,
``EIF_cond_exp_isfa_ista`` (aliases of spinn's models). sPyNNaker's other
extra models raise NotImplementedError naming what is missing.
"""
from spinn.pynn.extra_models import Izhikevich_curr_exp                    # noqa: F401
from spinn.pynn.standardmodels import (EIF_cond_exp_isfa_ista, HH_cond_exp,  # noqa: F401
                                       IF_cond_alpha, IF_curr_delta, SpikeSourceGamma,
                                       SpikeSourcePoissonRefractory)
from spinn.pynn.synapses import SpikeNearestPairRule, Vogels2011Rule       # noqa: F401

from ._unsupported import unsupported

IFCurrDelta = IF_curr_delta

_MISSING = {
    "IFCurrExpCa2Adaptive": "the calcium-adaptive LIF neuron",
    "IF_curr_exp_ca2_adaptive": "the calcium-adaptive LIF neuron",
    "IFCondExpStoc": "the stochastic-threshold LIF neuron",
    "IF_cond_exp_stoc": "the stochastic-threshold LIF neuron",
    "IFCurrExpSEMD": "the sEMD neuron",
    "IF_curr_exp_sEMD": "the sEMD neuron",
    "IF_curr_dual_exp": "the dual-exponential current synapse neuron",
    "IFCurrDualExpBase": "the dual-exponential current synapse neuron",
    "Izhikevich_cond": "the conductance-based Izhikevich neuron",
    "IzkCondExpBase": "the conductance-based Izhikevich neuron",
    "IF_Trunc_delta": "the truncated delta-synapse neuron",
    "IFTruncDelta": "the truncated delta-synapse neuron",
    "SpikeSourcePoissonVariable": "Poisson sources with rates changing on a schedule",
    "WeightDependenceAdditiveTriplet": "triplet STDP",
    "PfisterSpikeTriplet": "triplet STDP",
    "RecurrentRule": "the recurrent STDP rule",
    "WeightDependenceMultiplicativeRule": "sPyNNaker's weight-dependence variants",
    "SpikeSourceFromFile": "spike sources read from a file (use SpikeSourceArray)",
    "SpikeSourceArrayVariable": "spike sources read from a file (use SpikeSourceArray)",
    "NeuromodulatedSTDP": "neuromodulated STDP",
    "Neuromodulation": "neuromodulated STDP",
    "IF_curr_exp_NMDA": "NMDA synapses",
}


def __getattr__(attr):
    if attr in _MISSING:
        raise unsupported(f"extra_models.{attr}", _MISSING[attr])
    raise AttributeError(f"module 'spinn.compat.extra_models' has no attribute {attr!r}")
