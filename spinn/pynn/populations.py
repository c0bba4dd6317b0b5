"""Population, PopulationView and Assembly for the spinn backend.

Creating a Population only *describes* it (a frozen
:class:`~spinn.network.PopulationSpec` in the simulator's draft): parameters
stay numbers where they are homogeneous, a ``RandomDistribution`` stays a
keyed random value (see :mod:`spinn.pynn.values`), and the engine evaluates
a rank's own slices at build time. ``set``/``initialize`` replace the spec
with a new version, which a built simulation applies at once.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

import numpy as np
from lazyarray import larray
from pyNN import common, errors, recording
from pyNN.parameters import ParameterSpace, Sequence, simplify
from pyNN.random import NumpyRNG, RandomDistribution
from pyNN.standardmodels import StandardCellType

from ..errors import NetworkError, SimulationStateError
from ..network import PopulationSpec
from ..rng import stream_key
from ..validation import Unnamed
from ..values import SpikeTimes, is_homogeneous
from . import simulator
from .recording import Recorder
from .simulator import state
from .values import INITIAL, PARAMETER, is_random, neuron_value, values_at

logger = logging.getLogger("PyNN")


_SAMPLE = 0x5A39


def _sampling_rng(rng):
    """The generator of ``sample(n, rng)``: ``rng``, or where the script left it
    unseeded (PyNN's default, ``NumpyRNG()``, seeds itself from the operating
    system in each process, so that under MPI every rank would sample other cells)
    one seeded from the network seed and the number of such samples so far."""
    if rng and getattr(rng, "seed", None) is not None:
        return rng
    state.sample_counter += 1
    seed = int(stream_key(state.network.seed, _SAMPLE, state.sample_counter)) & 0x7FFFFFFF
    return NumpyRNG(seed=seed, parallel_safe=True)


class _SampleMixin:
    def sample(self, n, rng=None):
        return super().sample(n, _sampling_rng(rng))

    sample.__doc__ = common.Population.sample.__doc__ + """
        Without ``rng`` (or with an unseeded one) the sample comes from the
        network seed (``setup(rng_seed=...)``): the same cells on every rank.
        """


class Assembly(_SampleMixin, common.Assembly):
    _simulator = simulator

    @property
    def receptor_types(self):
        """Receptor types common to all members, in the first member's order.

        PyNN returns a ``set`` here, whose order depends on each process's
        string hashing: under MPI two ranks could then guess different default
        receptors for the same projection.
        """
        common_types = set(super().receptor_types)
        return [r for r in self.populations[0].celltype.receptor_types if r in common_types]

    def write_data(self, io, variables='all', gather=True, clear=False, annotations=None):
        """Gather on every process (collective); only MPI rank 0 writes the file
        (PyNN's own would write it on every process: each sees itself as rank 0,
        see :mod:`spinn.pynn.simulator`)."""
        if isinstance(io, str):
            io = recording.get_io(io)
        data = self.get_data(variables, gather, clear, annotations)
        if state.real_rank == 0:
            io.write_block(data)


def _spike_times(value, size: int, zero_allowed: bool = False, label: str = "") -> SpikeTimes:
    """SpikeSourceArray's ``spike_times`` (a Sequence for all, or one per neuron);
    ``zero_allowed``: the caller moves times of 0 ms itself (spinn.compat)."""
    if isinstance(value, larray):
        value.shape = (size,)
        value = value.evaluate(simplify=True)
    if isinstance(value, Sequence):
        times = np.asarray(value.value, dtype=float)
        _check_spike_times(times, zero_allowed, label)
        return SpikeTimes(times)
    seqs = [np.asarray(getattr(v, "value", v), dtype=float).ravel()
            for v in np.asarray(value, dtype=object).ravel()]
    for t in seqs:
        _check_spike_times(t, zero_allowed, label)
    return SpikeTimes.from_lists(seqs)


def _check_spike_times(times, zero_allowed: bool = False, label: str = ""):
    if times.size and (np.any(np.diff(times) < 0) or not np.all(np.isfinite(times))):
        raise errors.InvalidParameterValueError(
            f"spike times must be finite and sorted in increasing order, got {times[:10]}...")
    if not zero_allowed and np.any(times == 0.0):     # negative ones: spinn.validation
        raise errors.InvalidParameterValueError(
            f"Population '{label}': spike time 0 ms: a source's spike is emitted at the end of the "
            f"time step it falls in, the earliest at one timestep ({state.dt:g} ms); spike "
            "times must be > 0 (NEST, too, refuses a spike time of 0)")


class _ValuesAt:
    """``f(index) -> values``: an engine value as a lazyarray's base (evaluated
    only for the indices PyNN asks for)."""

    def __init__(self, value):
        self.value = value

    def __call__(self, index):
        values = values_at(self.value, np.atleast_1d(index))
        return values if np.ndim(index) else float(values[0])


class LazyIDs:
    """A Population's or view's ``all_cells``: its IDs, made only when somebody
    needs them.

    PyNN's common layer holds one ``ID`` object per cell. Creating a
    population of 10^8 neurons, or a view of 10^7 of them, must cost nothing
    per neuron beyond an index (a script mapped with ``spinn map`` never
    touches its cells), so single IDs are made on indexing and the full object
    array only on the first operation that needs it (iteration, numpy
    conversion to objects), then kept. ``gids`` are the global ids: a
    population's are consecutive from ``first`` (nothing stored), a view's an
    int64 array.
    """

    def __init__(self, first: int, size: int, parent, gids: np.ndarray | None = None):
        self.first, self.size, self.parent = first, size, parent
        self._gids = gids
        self._cells = None

    @property
    def gids(self) -> np.ndarray:
        """The global ids as int64 (made for a population: one per cell)."""
        if self._gids is None:
            return np.arange(self.first, self.first + self.size, dtype=np.int64)
        return self._gids

    def gids_at(self, index: np.ndarray) -> np.ndarray:
        """The global ids of the cells at ``index`` (int64, nothing per other cell)."""
        if self._gids is None:
            return np.asarray(index, dtype=np.int64) + self.first
        return self._gids[index]

    def materialize(self) -> np.ndarray:
        if self._cells is None:
            cells = np.empty(self.size, dtype=object)
            cells[:] = [self._make(i) for i in self.gids.tolist()]
            self._cells = cells
        return self._cells

    def __len__(self):
        return self.size

    @property
    def shape(self):
        return (self.size,)

    dtype = np.dtype(object)

    def __getitem__(self, index):
        if self._cells is not None:
            return self._cells[index]
        if isinstance(index, (int, np.integer)):
            i = int(index) + (self.size if index < 0 else 0)
            if not 0 <= i < self.size:
                raise IndexError(f"index {index} out of range for {self.size} cells")
            return self._make(self.first + i if self._gids is None else int(self._gids[i]))
        # slices, masks and index arrays: only the selected cells are made
        if self._gids is not None:
            selected = self._gids[index]
        elif isinstance(index, slice):
            r = range(self.first, self.first + self.size)[index]
            selected = np.arange(r.start, r.stop, r.step)
        else:
            index = np.asarray(index)
            if index.dtype == bool:
                selected = np.flatnonzero(index) + self.first
            else:
                selected = np.where(index < 0, index + self.size, index) + self.first
        cells = np.empty(selected.size, dtype=object)
        cells[:] = [self._make(i) for i in selected.tolist()]
        return cells

    def _make(self, gid):
        cell = simulator.ID(gid)
        cell.parent = self.parent
        return cell

    def __iter__(self):
        return iter(self.materialize())

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype).kind in "iu":
            return self.gids.astype(dtype)
        cells = self.materialize()
        return cells if dtype is None else cells.astype(dtype)


class _ParameterMixin:
    """The get/set hooks shared by Population and PopulationView."""

    def _get_parameters(self, *names):
        if isinstance(self.celltype, StandardCellType):
            if any(name in self.celltype.computed_parameters() for name in names):
                native_names = self.celltype.get_native_names()
            else:
                native_names = self.celltype.get_native_names(*names)
            native = self._get_native_parameters(*native_names)
            return self.celltype.reverse_translate(native)
        return self._get_native_parameters(*names)

    def _get_native_parameters(self, *names):
        root = self._root()
        spec = root._spec
        out = {}
        for name in names:
            if name == "spike_times":
                times = spec.spike_times
                indices = np.arange(root.size)[self._root_indices()]
                out[name] = np.array([Sequence(times.of(int(i))) for i in indices],
                                     dtype=object)
                if times.ptr is None:
                    out[name] = Sequence(times.of(0))
                continue
            value = spec.params[name]
            if is_homogeneous(value):
                out[name] = value
            else:
                out[name] = simplify(values_at(value, np.arange(root.size)[
                    self._root_indices()]))
        return ParameterSpace(out, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        root = self._root()
        spec = root._spec
        parameter_space.shape = (self.size,)
        whole = self is root
        params = dict(spec.params)
        spike_times = spec.spike_times
        for name, value in parameter_space.items():
            if name == "spike_times":
                new = _spike_times(value, self.size,
                                   getattr(root, "_early_spikes_moved", False), root.label)
                if whole:
                    spike_times = new
                else:
                    lists = [spike_times.of(i) for i in range(root.size)]
                    for j, i in enumerate(np.arange(root.size)[self._root_indices()].tolist()):
                        lists[i] = new.of(j)
                    spike_times = SpikeTimes.from_lists(lists)
                continue
            new = neuron_value(value, self.size, PARAMETER, spec.id, name, spec.seed)
            if whole:
                params[name] = new
            else:
                full = values_at(params[name], np.arange(root.size))
                full[self._root_indices()] = values_at(new, np.arange(self.size))
                params[name] = full
        root._spec = state.network.replace("populations", spec.id, params=params,
                                           spike_times=spike_times)
        state.sync()

    def _set_initial_value_array(self, variable, initial_values):
        root = self._root()
        spec = root._spec
        initial_values.shape = (self.size,)
        new = neuron_value(initial_values, self.size, INITIAL, spec.id, variable, spec.seed)
        initial = dict(spec.initial)
        if self is not root:
            full = values_at(initial.get(variable, 0.0), np.arange(root.size))
            full[self._root_indices()] = values_at(new, np.arange(self.size))
            new = full
        initial[variable] = new
        root._spec = state.network.replace("populations", spec.id, initial=initial)
        if is_random(initial_values) and variable in root.initial_values:
            # PyNN's own copy would draw other numbers than the engine uses
            root.initial_values[variable] = larray(_ValuesAt(new), shape=(root.size,))
        state.sync()       # after a run: the current value too

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def mean_spike_count(self, gather=True):
        """The mean number of spikes per recorded neuron (PyNN's, without its
        dict of one count per cell)."""
        mean = self.recorder.mean_count(self._record_filter)
        if self._simulator.state.mpi_rank == 0 or not gather:
            return mean
        return np.nan


class PopulationView(_SampleMixin, _ParameterMixin, common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    def __init__(self, parent, selector, label=None):
        """A view of ``parent``'s cells ``selector`` (a slice, a boolean mask
        or indices), as PyNN's, but held as an index array: PyNN's makes and
        sorts one ``ID`` object per selected cell."""
        self.parent = parent
        self.mask = selector
        self.celltype = parent.celltype
        n = len(parent)
        consecutive = None          # (first id, size) of a step-1 slice of consecutive ids
        if isinstance(selector, slice):
            r = range(n)[selector]
            if (r.step == 1 and isinstance(parent.all_cells, LazyIDs)
                    and parent.all_cells._gids is None):
                consecutive = (parent.all_cells.first + r.start, len(r))
            idx = None if consecutive else np.arange(r.start, r.stop, r.step, dtype=np.int64)
        else:
            mask = np.asarray(selector)
            if mask.dtype == bool:
                if mask.size != n:
                    raise ValueError(f"a boolean mask of {mask.size} values for "
                                     f"'{parent.label}' of {n} cells")
                idx = np.flatnonzero(mask).astype(np.int64)
            else:
                idx = np.asarray(mask, dtype=np.int64)
                idx = np.where(idx < 0, idx + n, idx)
                if idx.size and (idx.min() < 0 or idx.max() >= n):
                    raise IndexError(f"cell indices out of range for '{parent.label}' of "
                                     f"{n} cells")
                unique = np.unique(idx)
                if unique.size != idx.size:
                    logger.warning("PopulationView can contain each ID only once, "
                                   "duplicates are removed")
                idx = unique
            self.mask = idx
        if consecutive:             # nothing per cell: ids first .. first + size - 1
            self.size = consecutive[1]
            self.all_cells = LazyIDs(consecutive[0], self.size, self.grandparent)
            self._is_sorted = True
        else:
            gids = parent.all_cells.gids_at(idx) if isinstance(parent.all_cells, LazyIDs) \
                else np.asarray([int(c) for c in parent.all_cells[idx]], dtype=np.int64)
            gids.setflags(write=False)
            self.size = int(gids.size)
            self.all_cells = LazyIDs(int(gids[0]) if gids.size else 0, self.size,
                                     self.grandparent, gids)
            self._is_sorted = bool(np.all(gids[1:] > gids[:-1]))
        self.label = label or "view of '%s' with size %s" % (parent.label, self.size)
        if self.size:
            lo, hi = (0, -1) if self._is_sorted else (int(np.argmin(gids)), int(np.argmax(gids)))
            self.first_id, self.last_id = self.all_cells[lo], self.all_cells[hi]
        self.annotations = {}
        self.recorder = parent.recorder
        self._record_filter = self.all_cells

    @property
    def _mask_local(self):
        """Every cell is "local" in PyNN's view (see spinn.pynn.simulator)."""
        return np.ones(self.size, dtype=bool)

    @property
    def local_cells(self):
        return self.all_cells

    def id_to_index(self, id):
        """Index (indices) of the cell(s) ``id`` in the view (PyNN's, on the
        view's id array)."""
        gids = self.all_cells.gids
        if not np.iterable(id):
            hit = np.flatnonzero(gids == int(id)) if not self._is_sorted else None
            if self._is_sorted:
                pos = int(np.searchsorted(gids, int(id)))
                if pos < gids.size and gids[pos] == int(id):
                    return pos
            elif hit.size:
                return hit if hit.size > 1 else int(hit[0])
            raise IndexError("ID %s not present in the View" % id)
        ids = id.all_cells.gids if isinstance(id, PopulationView) else (
            id.gids if isinstance(id, LazyIDs) else np.asarray([int(i) for i in id],
                                                               dtype=np.int64))
        order = np.argsort(gids, kind="stable")
        pos = np.minimum(np.searchsorted(gids[order], ids), max(gids.size - 1, 0))
        if ids.size and (gids.size == 0 or np.any(gids[order][pos] != ids)):
            raise IndexError(f"IDs {ids[gids[order][pos] != ids][:5].tolist()} not present "
                             "in the View")
        return order[pos]

    def _root(self):
        return self.grandparent

    def _root_indices(self):
        return self.all_cells.gids - int(self.grandparent.first_id)

    def initialize(self, **initial_values):
        """Set initial (and, after a run, current) values of the view's cells.

        PyNN's common PopulationView cannot hold its own initial values; the
        values go to the parent population's description.
        """
        for variable, value in initial_values.items():
            self._set_initial_value_array(variable, larray(value, shape=(self.size,),
                                                           dtype=float))


@contextmanager
def creation_undone_on_error(population):
    """Undo a Population's creation that fails half way (a bad initial value
    found after its cells were made): the network, the id counter and the
    recorders are as before, and a bad value found before the population had
    a name is named after it."""
    n_draft, n_pops, first = len(state.network.populations), len(state.populations), \
        state.id_counter
    try:
        yield
    except Exception as exc:
        if len(state.network.populations) > n_draft:
            state.network.discard("populations", n_draft)
        del state.populations[n_pops:]
        state.id_counter = first
        state.recorders.discard(getattr(population, "recorder", None))
        if isinstance(exc, Unnamed):
            raise NetworkError(f"Population '{population.label}': {exc}") from None
        raise


class Population(_SampleMixin, _ParameterMixin, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def __init__(self, size, cellclass, cellparams=None, structure=None, initial_values={},
                 label=None):
        with creation_undone_on_error(self):        # spinn.validation: nothing half-made
            common.Population.__init__(self, size, cellclass, cellparams, structure,
                                       initial_values, label)

    def _root(self):
        return self

    def _root_indices(self):
        return slice(None)

    @property
    def _mask_local(self):
        """Every cell is "local" in PyNN's view (see spinn.pynn.simulator)."""
        return np.ones(self.size, dtype=bool)

    @property
    def local_cells(self):
        """Every cell (all are "local" in PyNN's view): the lazy ``all_cells``
        itself, so that ``len()``, ``describe()`` (which get_data calls for
        each segment) and ``local_cells[0]`` make no ID object per cell."""
        return self.all_cells

    def _require_unbuilt(self, what):
        if state.built:
            raise SimulationStateError(
                f"Population '{self.label}': {what} after the first run() is not supported "
                "yet; set parameters and initial values before run()")

    def _create_cells(self):
        state.require_setup("Population()")
        first = state.id_counter
        self.all_cells = LazyIDs(first, self.size, self)
        state.id_counter += self.size
        if not isinstance(self.celltype, StandardCellType) or not hasattr(
                self.celltype, "engine_model"):
            raise errors.InvalidModelError(
                f"Population '{self.label}': cell type {type(self.celltype).__name__} is not a "
                "spinn standard model")
        pid = len(state.network.populations)
        # a population's own seed: set by spinn.compat's Population(seed=...)
        seed = getattr(self, "_own_seed", None)
        ps = self.celltype.native_parameters
        ps.shape = (self.size,)
        params, spike_times = {}, None
        for name, value in ps.items():
            if name == "spike_times":
                spike_times = _spike_times(value, self.size,
                                           getattr(self, "_early_spikes_moved", False),
                                           self.label or f"population{self.size}")
            else:
                params[name] = neuron_value(value, self.size, PARAMETER, pid, name, seed)
        model = self.celltype.engine_model
        self._spec = PopulationSpec(
            id=pid, label=self.label or f"population{self.size}", size=self.size, model=model,
            first_gid=first, params=params, initial={},
            max_atoms_per_core=state.default_max_per_core.get(model, 256),
            spike_times=spike_times, seed=seed)
        state.network.add("populations", self._spec)
        state.populations.append(self)

    def _engine_positions(self):
        """This population's positions as the engine describes them."""
        from ..positions import ExplicitPositions
        from .spatial import positions_of
        if getattr(self, "_explicit_positions", False):
            return ExplicitPositions(np.asarray(self._positions, dtype=np.float64))
        rng = getattr(self.structure, "rng", None)
        seed = getattr(rng, "seed", None)
        return positions_of(self, state.network.seed if seed is None else int(seed),
                            self._spec.id)

    def _sync_positions(self):
        """Give the engine this population's positions (for spatial connectors;
        called when a projection needs them). Unchanged positions are left alone, so
        that a projection made after a run does not look like a change of a built
        population's positions (PyNN scenario test_issue672)."""
        positions = self._engine_positions()
        if _same_positions(self._spec.positions, positions):
            return
        self._spec = state.network.replace("populations", self._spec.id,
                                           positions=positions)

    def _get_positions(self):
        """PyNN's positions, except that random ones (RandomStructure, grids
        filled in random order) are the engine's keyed draws, the same in
        every MPI process, rather than PyNN's."""
        from pyNN import space
        structure = self.structure
        random = isinstance(structure, space.RandomStructure) or getattr(
            structure, "fill_order", None) == "random"
        if self._positions is None and random:
            self._positions = self._engine_positions().take(np.arange(self.size))
        return common.Population._get_positions(self)

    def _set_positions(self, positions):
        common.Population._set_positions(self, positions)
        self._explicit_positions = True

    positions = property(_get_positions, _set_positions)


def _same_positions(old, new) -> bool:
    from ..positions import ExplicitPositions
    if old is None or type(old) is not type(new):
        return False
    if isinstance(old, ExplicitPositions):
        return old.array.shape == new.array.shape and bool(np.all(old.array == new.array))
    try:
        return bool(old == new)
    except (TypeError, ValueError):     # fields that do not compare as a whole
        return False
