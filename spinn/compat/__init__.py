"""spinn's sPyNNaker dialect: ``import spinn.compat as p`` runs scripts written
for sPyNNaker (``import pyNN.spiNNaker as p``) on spinn.

The standard API (``import spinn`` / ``import pyNN.spinn``) stays standard
PyNN; everything sPyNNaker does differently lives here. This module
re-exports the whole ``spinn`` PyNN API and changes or adds:

``setup(timestep=..., min_delay=..., max_delay=..., **sPyNNaker keywords)``
    ``timestep=None`` is PyNN's default (0.1 ms, logged, as sPyNNaker does),
    ``timestep="auto"`` is 1 ms (sPyNNaker's), ``min_delay="auto"`` the
    timestep; ``machine_time_step`` (µs, sPyNNaker 0.7-style) sets the
    timestep when ``timestep`` is not given. ``max_delay`` is ignored (as in
    sPyNNaker: spinn has no delay limit). Machine and tool-chain keywords
    (``n_boards_required``, ``n_chips_required``, ``time_scale_factor``,
    ``database_socket_addresses``, ``db_name``, ``graph_label``, ``hostname``,
    ``spalloc_server``, ``threads`` ...) are accepted, logged (logger
    ``spinn.compat``) and ignored. Other keywords go to :func:`spinn.setup`.
``name()``
    ``"spinn (sPyNNaker compatible)"``.
``set_number_of_neurons_per_core(cell_type, n)``
    spinn's (slice size); ``n`` may be a tuple (sPyNNaker's 2-D cores: the product).
``set_number_of_synapse_cores(cell_type, n)``, ``set_allow_delay_extensions(cell_type, allow)``
    accepted and logged: spinn has no separate synapse cores and no delay
    extensions (any delay is delivered directly).
``get_machine()``
    raises NotImplementedError: there is no SpiNNaker machine.
``Population(size, cellclass, cellparams=None, structure=None, initial_values={}, label=None, additional_parameters=None, **additional_kwargs)``
    ``cellclass`` may be the class (with ``cellparams`` or none). ``seed``
    (in ``additional_parameters`` or as a keyword) gives the population its
    own random streams: its Poisson (and other random source) spikes and its
    unseeded RandomDistribution parameters and initial values come from
    that seed and the population's id, not from the network seed (see
    :func:`spinn.rng.population_seed`), identically on any number of ranks.
    ``max_atoms_per_core`` sets the population's slice size. The hardware
    keywords (``spikes_per_second``, ``ring_buffer_sigma``,
    ``incoming_spike_buffer_size``, ``drop_late_spikes``, ``splitter``,
    ``n_steps_per_timestep``, ``rb_left_shifts``, ``n_colour_bits``,
    ``max_rate``, ``neurons_per_core``) are logged and ignored; unknown ones
    are logged with a warning and ignored. Extra methods:
    ``set_max_atoms_per_core(n)``, ``add_placement_constraint(...)`` (logged,
    ignored), ``spinnaker_get_data(variable)`` (numpy ``[id, time]`` rows for
    spikes, ``[id, time, value]`` for signals, as sPyNNaker returns).
    A ``SpikeSourceArray`` spike at 0 ms (sPyNNaker sends it in the first
    timestep; spinn cannot send before the end of the first step) is sent at
    ``dt``, one step later than on SpiNNaker (logged).
Recording ``gsyn_exc`` / ``gsyn_inh`` on current-based cells
    (``IF_curr_exp``, ``IF_curr_alpha``, ``Izhikevich``): as sPyNNaker, which
    reports a current-based cell's synaptic input under the ``gsyn`` names,
    the values are the synaptic *currents* ``isyn_exc`` / ``isyn_inh`` in nA
    (units ``nA`` in the neo signals; spinn's own output files and
    :func:`spinn.io.read` name them ``isyn_exc`` / ``isyn_inh``). Inhibitory
    currents are reported negative (they are, in the cell).
``Projection(..., receptor_type="inhibitory")`` onto current-based cells
    takes *positive* weights, as sPyNNaker does (the receptor makes them
    inhibitory): spinn negates them, and ``get("weight")`` / ``set(weight=)``
    speak the positive values. Weights that are all <= 0 (standard PyNN's
    convention) are taken as they are; mixed signs are refused.
    ``download_synapses`` and ``partition_id`` are accepted and ignored.
    ``SpiNNakerProjection`` is the same class.
``Izhikevich``
    sPyNNaker's: current-based with exponential synapses (spinn's
    ``extra_models.Izhikevich_curr_exp``), not PyNN's delta-synapse model.
``MultapseConnector``
    the old name of ``FixedTotalNumberConnector``.
``extra_models``, ``external_devices``
    sPyNNaker's names that spinn has are there (:mod:`spinn.compat.extra_models`);
    the others raise NotImplementedError naming the missing feature, as do
    sPyNNaker-only top-level names (structural plasticity, local-only
    convolution ...).

``import pyNN.spiNNaker`` gives this module only when the environment
variable ``SPINN_SPINNAKER_COMPAT=1`` is set (``spinn run
--spinnaker-compat`` sets it); see ``spinn_pynn_alias.py``.
"""
from __future__ import annotations

import logging

from spinn import *                                                  # noqa: F401,F403
import spinn as _spinn
from spinn import (end, get_current_time, get_max_delay, get_min_delay,  # noqa: F401
                   get_time_step, initialize, io, list_standard_models, num_processes,
                   rank, reset, run, run_for, run_until)
from spinn.pynn.procedural_api import record                        # noqa: F401

from ._populations import Population                                  # noqa: F401
from ._projections import Projection                                  # noqa: F401
from ._models import IF_curr_alpha, IF_curr_exp, Izhikevich            # noqa: F401
import importlib as _importlib
# not ``from . import``: the star import above already bound spinn's extra_models here
extra_models = _importlib.import_module(".extra_models", __name__)
external_devices = _importlib.import_module(".external_devices", __name__)
from ._unsupported import unsupported

logger = logging.getLogger("spinn.compat")

NAME = "spinn (sPyNNaker compatible)"

SpiNNakerProjection = Projection
MultapseConnector = _spinn.FixedTotalNumberConnector

#: setup() keywords of sPyNNaker's tool chain that mean nothing to spinn
IGNORED_SETUP_KEYWORDS = frozenset({
    "n_boards_required", "n_chips_required", "time_scale_factor", "database_socket_addresses",
    "db_name", "graph_label", "hostname", "spalloc_server", "remote_spinnaker_url",
    "threads", "machine_name", "version", "extra_algorithms", "extra_mapping_inputs",
    "extra_pre_run_algorithms", "extra_post_run_algorithms", "user_extra_algorithms_pre_run",
    "config_file", "wait_on_confirmation"})


def setup(timestep=None, min_delay="auto", max_delay=None, **extra_params):
    """sPyNNaker's ``setup``: see the module docstring for the keywords."""
    machine_time_step = extra_params.pop("machine_time_step", None)
    if timestep is None and machine_time_step is not None:
        timestep = float(machine_time_step) / 1000.0
        logger.info("setup: machine_time_step=%s us gives timestep %g ms", machine_time_step,
                    timestep)
    if timestep is None:
        from pyNN.common.control import DEFAULT_TIMESTEP
        logger.warning("setup: no timestep given; using PyNN's default %g ms", DEFAULT_TIMESTEP)
        timestep = DEFAULT_TIMESTEP
    elif timestep == "auto":
        timestep = 1.0
    if min_delay == "auto":
        min_delay = timestep
    if max_delay is not None:
        logger.info("setup: max_delay=%s ignored (spinn has no delay limit)", max_delay)
    for key in sorted(IGNORED_SETUP_KEYWORDS.intersection(extra_params)):
        logger.info("setup: %s=%r accepted and ignored (no SpiNNaker machine in spinn)", key,
                    extra_params.pop(key))
    return _spinn.setup(timestep=timestep, min_delay=min_delay, **extra_params)


def name() -> str:
    """The simulator's name."""
    return NAME


def set_number_of_neurons_per_core(neuron_type, max_permitted):
    """spinn's slice size for ``neuron_type`` (a tuple is taken as its product)."""
    if isinstance(max_permitted, (tuple, list)):
        n = 1
        for k in max_permitted:
            n *= int(k)
        max_permitted = n
    return _spinn.set_number_of_neurons_per_core(neuron_type, max_permitted)


def set_number_of_synapse_cores(neuron_type, n_synapse_cores):
    """Accepted and logged: spinn does not split synapse processing into cores."""
    logger.info("set_number_of_synapse_cores(%s, %r) ignored: spinn has no synapse cores",
                getattr(neuron_type, "__name__", neuron_type), n_synapse_cores)


def set_allow_delay_extensions(neuron_type, allow_delay_extensions):
    """Accepted and logged: spinn delivers every delay directly (no delay
    extension cores), so long delays work either way."""
    logger.info("set_allow_delay_extensions(%s, %r) ignored: spinn needs no delay extensions",
                getattr(neuron_type, "__name__", neuron_type), allow_delay_extensions)


def get_machine():
    """sPyNNaker's SpiNNaker machine object: none in spinn."""
    raise NotImplementedError(
        "get_machine(): spinn simulates on CPU ranks, there is no SpiNNaker machine "
        "(see spinn.num_processes() and spinn map for the ranks)")


_UNSUPPORTED = {
    "StructuralMechanismStatic": "structural plasticity",
    "StructuralMechanismSTDP": "structural plasticity",
    "LastNeuronSelection": "structural plasticity",
    "RandomSelection": "structural plasticity",
    "DistanceDependentFormation": "structural plasticity",
    "RandomByWeightElimination": "structural plasticity",
    "Convolution": "local-only convolution synapses",
    "PoolDense": "local-only pooling synapses",
    "ConvolutionConnector": "local-only convolution synapses",
    "PoolDenseConnector": "local-only pooling synapses",
    "KernelConnector": "sPyNNaker's KernelConnector",
    "SpiNNaker": "sPyNNaker's simulator object",
}


def __getattr__(attr):
    if attr in _UNSUPPORTED:
        raise unsupported(f"spinn.compat.{attr}", _UNSUPPORTED[attr])
    raise AttributeError(f"module 'spinn.compat' has no attribute {attr!r}")


def _procedural():
    from pyNN import common
    from pyNN.connectors import FixedProbabilityConnector
    return (common.build_create(Population),
            common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse))


create, connect = _procedural()
