"""The backend's global ``state`` (PyNN's contract) and its ``ID`` class.

PyNN's common layer sees a replicated, logically serial world on every MPI
process: the same description everywhere, every cell "local",
``state.num_processes == 1`` and ``state.mpi_rank == 0``, so PyNN never
gathers or branches on the rank by itself. The engine does the distributed
work and hands PyNN data it has already gathered; ``sim.rank()`` and
``sim.num_processes()`` report the real MPI values.
"""
from __future__ import annotations

import os

import pyNN.random
from pyNN import common

from .. import memory
from ..errors import SimulationStateError
from ..network import NetworkDraft, steps_to_ms
from ..simulation import Simulation

name = "spinn"

#: the engine's default seed when neither setup(rng_seed=...) nor a connector
#: rng gives one: runs are reproducible by default, as in NEST.
DEFAULT_SEED = 1234567


class ID(int, common.IDMixin):
    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)

    def __getattr__(self, name):
        # numpy probes every element of a list it converts for __array__,
        # __array_interface__, __array_priority__ ...; PyNN's IDMixin would
        # answer each probe by looking the name up among the cell's parameters
        # (building a ParameterSpace per probe, which may convert more ID lists:
        # with heterogeneous parameters this recursed without end). No cell
        # parameter is a dunder name, so those are plain missing attributes.
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return common.IDMixin.__getattr__(self, name)


class State(common.control.BaseState):

    def __init__(self):
        super().__init__()
        self.mpi_rank = 0            # PyNN's view: see the module docstring
        self.num_processes = 1
        self.dt = 0.1
        self.min_delay = "auto"
        self.max_delay = "auto"
        self.initialized = False
        self.network = None
        self.simulation = None
        self.n_virtual_ranks = None
        self.output = None
        self.real_time = False
        self.quiet = False
        self.check_memory = True
        self.default_max_per_core = {}
        self.clear()

    # -- time --------------------------------------------------------------------
    @property
    def t(self) -> float:
        sim = self.simulation
        return 0.0 if sim is None else float(steps_to_ms(sim.step, self.dt))

    @t.setter
    def t(self, value):
        if value != 0:
            raise ValueError("the simulation time can only be set back to 0 (by reset())")

    def require_setup(self, what: str):
        if not self.initialized:
            raise SimulationStateError(f"{what} called before setup(): call sim.setup() first")

    def ensure_simulation(self) -> Simulation:
        self.require_setup("run()")
        if self.simulation is None:
            self.simulation = Simulation(self.network.freeze(),
                                         n_virtual_ranks=self.n_virtual_ranks,
                                         output=self.output)
            self.simulation.check_memory = self.check_memory
            self.simulation.real_time = self.real_time
            self.simulation.live_outputs = list(self.live_outputs)
            self.simulation.live_notify = list(self.live_notify)
            self.simulation.live_timeout = self.live_timeout
            self.simulation.show_progress = self.wants_progress()
        else:
            self.simulation.update(self.network.freeze())
        return self.simulation

    def built_simulation(self) -> Simulation:
        """The simulation, built (collective the first time) and up to date."""
        sim = self.ensure_simulation()
        sim.build()
        return sim

    def readable_simulation(self) -> Simulation:
        """The simulation to read recorded data from: after ``end()`` the one that
        ran, as it was (recorded data stay readable; PyNN scenario test_issue499),
        else :meth:`built_simulation`."""
        if not self.initialized and self.built:
            return self.simulation
        return self.built_simulation()

    @property
    def built(self) -> bool:
        return self.simulation is not None and self.simulation.built

    def sync(self) -> None:
        """Hand the newest version of the description to a built simulation
        (a collective call: every process makes the same changes)."""
        if self.built:
            self.simulation.update(self.network.freeze(), defer_growth=True)

    def wants_progress(self):
        """Run progress, on rank 0 unless quiet: ``"bar"`` (redrawn in place)
        when stderr is a terminal or ``SPINN_PROGRESS=1`` (``spinn run`` sets
        it when its own terminal is one: under mpiexec a rank's stderr is a
        pipe), else ``"lines"`` (one plain line per tenth of the run, for batch
        logs). ``SPINN_PROGRESS=0`` turns it off, ``SPINN_PROGRESS=lines``
        asks for lines. Runs shorter than 2 s print nothing either way."""
        import sys
        if self.quiet or self.real_rank != 0:
            return False
        env = os.environ.get("SPINN_PROGRESS", "").strip().lower()
        if env in ("0", "off", "no", "false"):
            return False
        if env in ("lines", "bar"):
            return env
        return "bar" if env == "1" or sys.stderr.isatty() else "lines"

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        if not tstop == tstop or tstop in (float("inf"), float("-inf")):
            raise ValueError(f"run time must be a finite number of ms, got {tstop!r}")
        sim = self.ensure_simulation()
        n_steps = int(round(tstop / self.dt)) - sim.step
        if n_steps < 0:
            raise ValueError(f"time {tstop} ms is in the past (current time {self.t} ms)")
        memory.plan_run(sim, n_steps)   # refuses a run whose recording would not fit
        sim.extra_metadata["units"] = self.recorded_units()
        every = periodic_checkpoints()
        try:
            if every is None:
                sim.run_steps(n_steps)
            else:               # spinn run --checkpoint-every: stop at each multiple
                from .. import checkpoint
                path, interval = every
                interval = max(1, int(round(interval / self.dt)))
                end = sim.step + n_steps
                while sim.step < end:
                    stop = min(end, (sim.step // interval + 1) * interval)
                    sim.run_steps(stop - sim.step)
                    if sim.step % interval == 0:
                        checkpoint.save(sim, path)
        except KeyboardInterrupt as interrupt:
            # Ctrl-C (or SIGTERM, spinn.simulation.Terminated): what was recorded is
            # written (run_steps); the simulated time reached goes with the exception
            # (spinn run's ranks report it, see launch.rank); uncaught, it is the one
            # line Python prints.
            interrupt.spinn_stopped_at = time_reached(sim, self.dt, interrupt.__traceback__)
            if sim.output_dir is not None:
                interrupt.spinn_output = str(sim.output_dir)
            _say_where_stopped_if_uncaught()
            raise
        self.running = True

    def recorded_units(self) -> dict:
        """``{population label: {variable: units}}`` for run.json (spinn.io.read)."""
        out = {}
        for pop in self.populations:
            for variable in pop._spec.record:
                if variable != "spikes":
                    try:
                        unit = str(pop.celltype.units[variable])
                    except (AttributeError, KeyError):
                        unit = "dimensionless"
                    out.setdefault(pop.label, {})[variable] = unit
        return out

    # -- lifecycle -----------------------------------------------------------------
    def clear(self):
        self.recorders = set()
        self.live_outputs = []          # spinn.live.activate_live_output_for
        self.live_notify = []           # spinn.live: clients to hand-shake with
        self.live_timeout = None        # spinn.live.set_start_timeout
        self.id_counter = 0
        self.segment_counter = -1
        self.sample_counter = 0         # Population.sample without a seed
        self.populations = []
        self.projections = []
        self.network = NetworkDraft(dt_ms=self.dt, seed=DEFAULT_SEED)
        self.simulation = None
        self.write_on_end = []
        self.reset()

    def reset(self):
        """Back to t = 0 with the initial state; the network is kept."""
        self.running = False
        self.t_start = 0
        self.segment_counter += 1
        if self.built:
            self.sync()
            self.simulation.reset()

    @property
    def real_rank(self) -> int:
        sim = self.simulation
        if sim is not None:
            return sim.exchange.process_rank
        from ..comm import world_rank
        return world_rank()

    @property
    def real_size(self) -> int:
        from ..comm import world_size
        return world_size()


state = State()


def _mpi_config():
    """PyNN's ``random.get_mpi_config``, which catches only ImportError: mpi4py 4
    raises RuntimeError when it cannot load an MPI library, and every
    ``NumpyRNG()`` asks. Without MPI there is one process."""
    from ..comm import world_rank, world_size
    return world_rank(), world_size()


pyNN.random.get_mpi_config = _mpi_config


def periodic_checkpoints():
    """``(path, interval_ms)`` from ``SPINN_CHECKPOINT_EVERY`` (ms) and
    ``SPINN_CHECKPOINT`` (the directory; default ``spinn_checkpoint``), as
    ``spinn run --checkpoint-every T [--checkpoint DIR]`` sets them; or None."""
    every = os.environ.get("SPINN_CHECKPOINT_EVERY")
    if not every:
        return None
    try:
        interval = float(every)
    except ValueError:
        interval = float("nan")
    if not interval > 0 or interval == float("inf"):
        raise ValueError(f"SPINN_CHECKPOINT_EVERY={every!r}: give a positive time in ms")
    return os.environ.get("SPINN_CHECKPOINT") or "spinn_checkpoint", interval


def time_reached(sim: Simulation, dt: float, tb=None) -> float:
    """The simulated time (ms) ``sim`` has reached, also while ``run_steps`` is running in this
    thread (from the traceback ``tb`` of an exception it raised) or in the main thread (when
    called from another one)."""
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    if not frames:
        import sys
        import threading
        frame = sys._current_frames().get(threading.main_thread().ident)
        while frame is not None:
            frames.append(frame)
            frame = frame.f_back
    for frame in frames:
        if frame.f_code.co_name == "run_steps" and frame.f_locals.get("self") is sim:
            step = frame.f_locals.get("k")
            if isinstance(step, int):
                return float(steps_to_ms(step, dt))
    return float(steps_to_ms(sim.step, dt))


def format_ms(t: float) -> str:
    """``523.4`` for 523.4000000001: a simulated time without float noise."""
    text = f"{t:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _say_where_stopped_if_uncaught() -> None:
    """Make an uncaught Ctrl-C out of run() print ``spinn: stopped at t = ... ms`` instead of a
    traceback (Python still exits with 130). Only while ``sys.excepthook`` is Python's own: a
    hook the script or a tool installed is left alone, and so is every other exception."""
    import sys
    if sys.excepthook is not sys.__excepthook__:
        return

    def hook(kind, value, tb):
        t = getattr(value, "spinn_stopped_at", None)
        if issubclass(kind, KeyboardInterrupt) and t is not None:
            output = getattr(value, "spinn_output", None)
            data = f"; what was recorded is in {output}" if output else ""
            print(f"spinn: stopped at t = {format_ms(t)} ms{data}", file=sys.stderr, flush=True)
        else:
            sys.__excepthook__(kind, value, tb)

    sys.excepthook = hook


def env_virtual_ranks():
    """``SPINN_VIRTUAL_RANKS`` lets a plain ``python`` run use N in-process ranks."""
    value = os.environ.get("SPINN_VIRTUAL_RANKS")
    return int(value) if value else None
