"""Cell models of the engine: one vectorised step over all local neurons of a type.

A model class is instantiated once per rank for all local neurons of that
type (a *cell group*) and offers:

* ``parameter_names()`` / ``state_names()`` (class methods), ``recordable``,
  ``is_source``;
* ``__init__(gids, params, initial, dt, seed)``: per-neuron float64 arrays in
  PyNN units (ms, mV, nA, nF, µS, Hz);
* ``state``: dict of per-neuron state arrays (what ``record()`` samples);
* ``i_inj``: per-neuron injected current (nA) for this step, set by the
  engine from current sources (zero otherwise);
* ``step(k, exc, inh) -> (fired, counts)``: advance from ``k*dt`` to
  ``(k+1)*dt`` with the summed weights ``exc``/``inh`` arriving in this step;
  ``fired`` are local indices, ``counts`` their multiplicity (or None);
  a model with an ``n_receptors`` attribute (a composed PointNeuron) takes
  ``step(k, *inputs)``, one array per receptor type instead.
"""
from .adex import EIF_cond_alpha_isfa_ista, EIF_cond_exp_isfa_ista
from .conductance import IF_cond_alpha, IF_cond_exp
from .hh import HH_cond_exp
from .izhikevich import Izhikevich, IzhikevichCurrExp
from .lif import IF_curr_alpha, IF_curr_delta, IF_curr_exp
from .nir import NIRNeuronGroup
from .gif import PREFIX as GIF_PREFIX, GIF_cond_exp, gif_class
from .point import PREFIX, point_neuron_class
from .sfa_rr import IF_cond_exp_gsfa_grr
from .renewal import SpikeSourceGammaGroup, SpikeSourcePoissonRefractoryGroup
from .sources import SpikeInjectorGroup, SpikeSourceArrayGroup, SpikeSourcePoissonGroup

#: per-neuron dynamic arrays a cell group may hold besides ``state``
#: (refractory counters, HH's detection pause, dead time, next gamma spike)
DYNAMIC_ATTRIBUTES = ("refractory", "paused", "dead", "t_next")


def dynamic_state(group) -> dict:
    """Every dynamic per-neuron array of a cell group, by name: its ``state``
    variables, the counters and times in :data:`DYNAMIC_ATTRIBUTES`, and its
    synapse component's hidden state (``syn/<name>/<receptor>``)."""
    out = {f"state/{name}": array for name, array in group.state.items()}
    for name in DYNAMIC_ATTRIBUTES:
        if hasattr(group, name):
            out[name] = getattr(group, name)
    syn = getattr(group, "syn", None)
    for name in getattr(syn, "hidden_state", ()):
        for i, array in enumerate(getattr(syn, name)):
            out[f"syn/{name}/{i}"] = array
    return out


#: receptor indices in the ring buffer
EXCITATORY, INHIBITORY = 0, 1
#: receptor rows of the ring buffer unless a composed neuron (PointNeuron)
#: has more receptor types (see :func:`receptor_count`)
N_RECEPTORS = 2


def receptor_count(projections) -> int:
    """Rows of the ring buffer's receptor axis for a network with these
    projections (all of them, so that every rank agrees): two (excitatory,
    inhibitory), or more where a projection targets a PointNeuron's third or
    later receptor type."""
    return max([N_RECEPTORS] + [int(p.receptor) + 1 for p in projections])


class _Models(dict):
    """Engine model name -> cell group class: the fixed models, and the
    models made from their name on first use: composed ``PointNeuron:...``
    (:func:`spinn.models.point.point_neuron_class`) and GIF neurons with other
    than three adaptation components (``GIF_cond_exp:<n_eta>:<n_gamma>``,
    :func:`spinn.models.gif.gif_class`). Iterating gives the fixed models only."""

    def __missing__(self, name):
        if isinstance(name, str) and name.startswith(PREFIX + ":"):
            return point_neuron_class(name)
        if isinstance(name, str) and name.startswith(GIF_PREFIX + ":"):
            return gif_class(name)
        raise KeyError(name)

    def get(self, name, default=None):
        try:
            return self[name]
        except (KeyError, ValueError):
            return default

    def __contains__(self, name):
        return self.get(name) is not None

#: engine model name -> cell group class; the order is the order of groups in
#: a rank's local index space
MODELS = _Models({
    "IF_curr_exp": IF_curr_exp,
    "IF_curr_delta": IF_curr_delta,
    "SpikeSourceArray": SpikeSourceArrayGroup,
    "SpikeSourcePoisson": SpikeSourcePoissonGroup,
    "IF_curr_alpha": IF_curr_alpha,
    "IF_cond_exp": IF_cond_exp,
    "IF_cond_alpha": IF_cond_alpha,
    "Izhikevich": Izhikevich,
    "Izhikevich_curr_exp": IzhikevichCurrExp,
    "EIF_cond_exp_isfa_ista": EIF_cond_exp_isfa_ista,
    "EIF_cond_alpha_isfa_ista": EIF_cond_alpha_isfa_ista,
    "HH_cond_exp": HH_cond_exp,
    "SpikeSourceGamma": SpikeSourceGammaGroup,
    "SpikeSourcePoissonRefractory": SpikeSourcePoissonRefractoryGroup,
    "NIR_neuron": NIRNeuronGroup,
    "IF_cond_exp_gsfa_grr": IF_cond_exp_gsfa_grr,
    "GIF_cond_exp": GIF_cond_exp,
    "SpikeInjector": SpikeInjectorGroup,
})
