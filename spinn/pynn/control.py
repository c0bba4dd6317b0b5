"""setup(), end(), run() and the state queries."""
from __future__ import annotations

import logging
import os
import sys

from pyNN import common
from pyNN.common.control import DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from ..errors import NetworkError, SimulationStateError
from ..network import steps_to_ms
from ..simulation import format_provenance_summary, format_summary, write_statistics
from ..validation import check_run_time
from . import simulator
from .simulator import state

logger = logging.getLogger(__name__)


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """Start a new simulation; any existing network is discarded.

    spinn-specific keywords: ``rng_seed`` (int, the network's default seed),
    ``n_virtual_ranks`` (simulate N ranks inside this process; also from the
    ``SPINN_VIRTUAL_RANKS`` environment variable), ``quiet`` (no summary at
    ``end()``), ``fuse_sources`` (default True: one-to-one spike sources are
    generated next to their targets, :mod:`spinn.fusion`; the same results
    either way), ``check_memory`` (default True: refuse at the first run a
    network whose estimated memory exceeds what its ranks have, before
    generating anything, :mod:`spinn.memory`; also ``SPINN_CHECK_MEMORY=0``),
    ``output`` (the directory each rank streams its recordings to, and where
    run.json and provenance.json go; default ``spinn_output/<script>/<time>``,
    or ``SPINN_OUTPUT``), ``real_time`` (pace the steps to the wall clock and
    count late steps; also ``SPINN_REAL_TIME=1``).
    Unknown keywords other simulators take are ignored.
    """
    if not 0 < timestep < float("inf"):
        raise ValueError(f"timestep must be a finite number > 0, got {timestep!r} ms")
    max_delay = extra_params.get("max_delay", "auto")
    common.setup(timestep, min_delay, **extra_params)
    state.initialized = True
    state.dt = float(timestep)
    state.min_delay = min_delay
    state.max_delay = max_delay
    state.n_virtual_ranks = extra_params.get("n_virtual_ranks", simulator.env_virtual_ranks())
    state.output = extra_params.get("output")
    state.real_time = bool(extra_params.get("real_time",
                                            os.environ.get("SPINN_REAL_TIME", "") not in ("", "0")))
    state.quiet = bool(extra_params.get("quiet", os.environ.get("SPINN_QUIET")))
    state.check_memory = bool(extra_params.get("check_memory", True))
    precision = extra_params.get("spike_precision", "on_grid")
    if precision not in ("on_grid", "off_grid"):
        raise ValueError(f"spike_precision must be 'on_grid' or 'off_grid', got {precision!r}")
    # spinn's neurons are on the grid either way; 'off_grid' records a
    # SpikeSourceArray's spikes at their given times (spinn.pynn.recording)
    state.spike_precision = precision
    state.default_max_per_core = {}
    state.clear()
    seed = extra_params.get("rng_seed")
    if seed is not None:
        state.network.set_seed(int(seed))
    state.network.fuse_sources = bool(extra_params.get("fuse_sources", True))
    return rank()


def end(compatible_output=True):
    """Write files requested with ``record(..., filename)``, print the summary."""
    for population, variables, filename in state.write_on_end:
        io = get_io(filename)
        population.write_data(io, variables)
    state.write_on_end = []
    state.initialized = False       # recorded data stay readable after end()
    sim = state.simulation
    if sim is not None and sim.built:
        sim.close()
    if sim is not None and sim.built and sim.steps_run:
        stats = sim.statistics()
        prov = sim.provenance()
        sim.write_provenance(prov)
        if state.real_rank == 0 and not state.quiet:
            print(format_summary(stats), file=sys.stdout, flush=True)
            print(format_provenance_summary(prov), file=sys.stdout, flush=True)
        path = os.environ.get("SPINN_STATISTICS")
        if path and state.real_rank == 0:       # spinn run --statistics / spinn map --measured
            write_statistics(stats, path)


def run_until(time_point, callbacks=None):
    state.require_setup("run_until()")
    t = check_run_time("run_until", time_point)
    if t < state.t - state.dt / 2:
        raise NetworkError(f"run_until({t!r}): {t:g} ms is before the current time "
                           f"{state.t:g} ms")
    return _run_until(time_point, callbacks)


def run(simtime, callbacks=None):
    state.require_setup("run()")
    check_run_time("run", simtime)
    return _run(simtime, callbacks)


_run, _run_until = common.build_run(simulator)
run_for = run


def reset(annotations=None):
    """Back to t = 0: the current segment of every recorder is stored, neurons
    return to their initial values, spikes in flight are dropped.

    PyNN's generic reset walks ``state.recorders``, a set ordered by object
    address, which differs between MPI processes; storing a segment gathers
    data (a collective call), so spinn walks the recorders in creation order.
    """
    for recorder in sorted(state.recorders, key=lambda r: r.population._spec.id):
        recorder.store_to_cache(annotations)
    state.reset()
initialize = common.initialize

get_current_time, get_time_step, _get_min_delay, get_max_delay, \
    _num_processes, _rank = common.build_state_queries(simulator)


def get_min_delay():
    """The smallest synaptic delay (ms).

    With ``min_delay='auto'`` (PyNN's default) this is the smallest delay of
    the built network (computed when it was built: no collective call, so
    one rank may ask alone), or the timestep before that.
    """
    if state.min_delay != "auto":
        return state.min_delay
    if state.built:
        return float(steps_to_ms(state.simulation.min_delay_steps(), state.dt))
    return state.dt


def rank():
    """This process's MPI rank (0 when not under MPI)."""
    return state.real_rank


def num_processes():
    """The number of MPI processes running this script."""
    return state.real_size


def get_run_statistics() -> dict:
    """Numbers of the runs so far: neurons, synapses, spikes, rates, wall times."""
    sim = state.simulation
    if sim is None or not sim.built:
        raise SimulationStateError("get_run_statistics() before run()")
    return sim.statistics()


def save_checkpoint(path) -> str:
    """Write the whole dynamic state (neurons, synapses, input in flight,
    recorded data, the time) to directory ``path``, between runs; a fresh
    process that rebuilds the same network continues from it with
    :func:`restore_checkpoint`, on any number of MPI processes. Collective."""
    from .. import checkpoint
    state.require_setup("save_checkpoint()")
    return str(checkpoint.save(state.built_simulation(), path))


def restore_checkpoint(path) -> float:
    """Continue from the checkpoint in ``path``: call it where the script that
    saved it had built the same network, before any run(). The spikes that
    follow are bitwise those of an uninterrupted run. Returns the time (ms)
    the simulation continues from. Collective."""
    from .. import checkpoint
    state.require_setup("restore_checkpoint()")
    manifest = checkpoint.restore(state.ensure_simulation(), path)
    state.running = True
    return float(manifest["time_ms"])


def set_number_of_neurons_per_core(cell_type, n):
    """Largest slice ("core") size for populations of ``cell_type`` created after
    this call, as in sPyNNaker."""
    state.require_setup("set_number_of_neurons_per_core()")
    n = int(n)
    if n < 1:
        raise ValueError(f"neurons per core must be >= 1, got {n}")
    model = getattr(cell_type, "engine_model", None)
    if model is None:
        raise TypeError(f"{cell_type!r} is not a spinn cell type")
    state.default_max_per_core[model] = n
    for pop in state.populations:
        if pop._spec.model == model:
            pop._require_unbuilt("set_number_of_neurons_per_core()")
            pop._spec = state.network.replace("populations", pop._spec.id,
                                              max_atoms_per_core=n)
