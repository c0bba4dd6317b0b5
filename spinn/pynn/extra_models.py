"""Models beyond PyNN's standard set, as sPyNNaker offers them.

``sim.extra_models.Izhikevich_curr_exp`` is sPyNNaker's current-based
Izhikevich neuron (exponential current synapses, weights in nA, the input
current used in the equation without pA scaling); sPyNNaker scripts that use
``p.Izhikevich`` with nA weights can switch to it.
"""
from pyNN.standardmodels import StandardCellType

from .standardmodels import identity_translations

__all__ = ["Izhikevich_curr_exp", "NIR_neuron"]


class Izhikevich_curr_exp(StandardCellType):
    """Izhikevich (2003) neuron with exponential current synapses (sPyNNaker's
    ``Izhikevich``): ``dv/dt = 0.04 v² + 5 v + 140 − u + I``,
    ``du/dt = a (b v − u)``, ``I = i_offset + isyn_exc + isyn_inh`` (nA used as
    is), spike at 30 mV, then ``v = c``, ``u += d``."""
    default_parameters = {"a": 0.02, "b": 0.2, "c": -65.0, "d": 2.0, "i_offset": 0.0,
                          "tau_syn_E": 5.0, "tau_syn_I": 5.0}
    default_initial_values = {"v": -70.0, "u": -14.0, "isyn_exc": 0.0, "isyn_inh": 0.0}
    recordable = ["spikes", "v", "u"]
    units = {"v": "mV", "u": "mV/ms", "isyn_exc": "nA", "isyn_inh": "nA"}
    receptor_types = ("excitatory", "inhibitory")
    conductance_based = False
    injectable = True
    translations = identity_translations(*default_parameters)
    engine_model = "Izhikevich_curr_exp"


class NIR_neuron(StandardCellType):
    """The neuron nodes of NIR (``LIF``, ``CubaLIF``, ``LI``, ``CubaLI``, ``IF``,
    ``I``, ``Threshold``) with NIR's own dimensionless parameters, integrated
    with forward Euler (the equations and step order: :mod:`spinn.models.nir`).
    :func:`spinn.nir.load` creates populations of it from a NIR graph.
    Weights (both receptors) add to the input signal ``S``; negative weights
    go to the ``inhibitory`` receptor."""
    default_parameters = {"dt": 1.0, "tau_mem": 1.0, "r": 1.0, "v_leak": 0.0, "v_threshold": 1.0,
                          "v_reset": 0.0, "tau_syn": 1.0, "w_in": 1.0, "i_offset": 0.0,
                          "leak": 1.0, "synapse": 0.0, "spiking": 1.0, "stateless": 0.0}
    default_initial_values = {"v": 0.0, "isyn": 0.0}
    recordable = ["spikes", "v", "isyn"]
    units = {"v": "dimensionless", "isyn": "dimensionless"}
    receptor_types = ("excitatory", "inhibitory")
    conductance_based = False
    injectable = True
    translations = identity_translations(*default_parameters)
    engine_model = "NIR_neuron"
