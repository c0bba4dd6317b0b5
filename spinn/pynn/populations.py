"""Population, PopulationView and Assembly for the spinn backend.

Creating a Population only *describes* it: parameters stay scalars where they
are homogeneous, and the engine evaluates a rank's own slice at build time.
Values that depend on a random stream (``RandomDistribution``) are evaluated
once, in script order, so every rank sees the same numbers.
"""
from __future__ import annotations

import numpy as np
from lazyarray import larray
from pyNN import common, errors
from pyNN.parameters import ParameterSpace, Sequence, simplify
from pyNN.random import RandomDistribution
from pyNN.standardmodels import StandardCellType

from ..errors import SimulationStateError
from ..network import PopulationSpec
from . import simulator
from .recording import Recorder
from .simulator import state


class Assembly(common.Assembly):
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


def _is_random(value) -> bool:
    return isinstance(value, larray) and isinstance(value.base_value, RandomDistribution)


def _engine_value(value, size):
    """A lazyarray (or plain value) as the engine's ParamValue."""
    if isinstance(value, larray):
        if value.is_homogeneous and not _is_random(value):
            v = value.evaluate(simplify=True)
            return v if not isinstance(v, np.ndarray) or v.ndim == 0 else v
        value.shape = (size,)
        return np.asarray(value.evaluate(simplify=False), dtype=float)
    return value


def _spike_times_source(value, size):
    """SpikeSourceArray's ``spike_times`` as ``f(lo, hi) -> list of arrays``."""
    if isinstance(value, larray):
        value.shape = (size,)
        value = value.evaluate(simplify=True)
    if isinstance(value, Sequence):
        times = np.asarray(value.value, dtype=float)
        _check_spike_times(times)
        return lambda lo, hi: [times] * (hi - lo)
    seqs = [np.asarray(getattr(v, "value", v), dtype=float) for v in np.asarray(value).ravel()]
    for t in seqs:
        _check_spike_times(t)
    return lambda lo, hi: seqs[lo:hi]


def _check_spike_times(times):
    if times.size and (np.any(np.diff(times) < 0) or not np.all(np.isfinite(times))):
        raise errors.InvalidParameterValueError(
            f"spike times must be finite and sorted in increasing order, got {times[:10]}...")


class LazyIDs:
    """A Population's ``all_cells``: its IDs, made only when somebody needs them.

    PyNN's common layer holds one ``ID`` object per cell. Creating a
    population of 10^8 neurons must cost nothing per neuron (a script mapped
    with ``spinn map`` never touches its cells), so single IDs are made on
    indexing and the full object array only on the first operation that needs
    it (iteration, masks, views, numpy conversion), then kept.
    """

    def __init__(self, first: int, size: int, parent):
        self.first, self.size, self.parent = first, size, parent
        self._cells = None

    def materialize(self) -> np.ndarray:
        if self._cells is None:
            cells = np.array([simulator.ID(i) for i in range(self.first,
                                                              self.first + self.size)],
                             dtype=simulator.ID)
            for cell in cells:
                cell.parent = self.parent
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
            return self._make(self.first + i)
        # slices, masks and index arrays: only the selected cells are made
        if isinstance(index, slice):
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
        out = {}
        for name in names:
            value = root._parameters[name]
            if isinstance(value, np.ndarray) and value.ndim > 0:
                value = value[self._root_indices()]
            out[name] = simplify(value) if isinstance(value, np.ndarray) else value
        return ParameterSpace(out, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        root = self._root()
        parameter_space.shape = (self.size,)
        for name, value in parameter_space.items():
            new = value.evaluate(simplify=False) if isinstance(value, larray) else value
            old = root._parameters.get(name)
            if name == "spike_times":
                full = np.empty(root.size, dtype=object)
                full[:] = [old] * root.size if isinstance(old, Sequence) else list(
                    np.asarray(old, dtype=object).ravel())
                full[self._root_indices()] = list(np.asarray(new, dtype=object).ravel())
                root._parameters[name] = full
            else:
                full = np.array(np.broadcast_to(np.asarray(old, dtype=float), (root.size,)))
                full[self._root_indices()] = np.asarray(new, dtype=float)
                root._parameters[name] = full
        root._sync_spec()
        if state.simulation is not None:
            state.simulation.update_population(root._spec.id)

    def _set_initial_value_array(self, variable, initial_values):
        root = self._root()
        initial_values.shape = (self.size,)
        if self is root and initial_values.is_homogeneous and not _is_random(initial_values):
            root._spec.initial[variable] = float(initial_values.evaluate(simplify=True))
        else:
            values = np.asarray(initial_values.evaluate(simplify=False), dtype=float)
            current = root._spec.initial.get(variable, 0.0)
            full = np.array(np.broadcast_to(np.asarray(current, dtype=float), (root.size,)))
            full[self._root_indices()] = values
            root._spec.initial[variable] = full
        if state.simulation is not None:      # after a run: the current value too
            state.simulation.set_state(root._spec.id, variable, root._spec.initial[variable])

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class PopulationView(_ParameterMixin, common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    def _root(self):
        return self.grandparent

    def _root_indices(self):
        return self.grandparent.id_to_index(self.all_cells)

    def initialize(self, **initial_values):
        """Set initial (and, after a run, current) values of the view's cells.

        PyNN's common PopulationView cannot hold its own initial values; the
        values go to the parent population's description.
        """
        for variable, value in initial_values.items():
            self._set_initial_value_array(variable, larray(value, shape=(self.size,),
                                                           dtype=float))


class Population(_ParameterMixin, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _root(self):
        return self

    def _root_indices(self):
        return slice(None)

    @property
    def _mask_local(self):
        """Every cell is "local" in PyNN's view (see spinn.pynn.simulator)."""
        return np.ones(self.size, dtype=bool)

    def _require_unbuilt(self, what):
        sim = state.simulation
        if sim is not None and sim.built:
            raise SimulationStateError(
                f"Population '{self.label}': {what} after the first run() is not supported "
                "yet; set parameters and initial values before run()")

    def _create_cells(self):
        state.require_setup("Population()")
        sim = state.simulation
        if sim is not None and sim.built:
            raise SimulationStateError(
                f"cannot create Population '{self.label}' after the first run(): the network "
                "is mapped at the first run(); create every population before it")
        first = state.id_counter
        self.all_cells = LazyIDs(first, self.size, self)
        state.id_counter += self.size
        if not isinstance(self.celltype, StandardCellType) or not hasattr(
                self.celltype, "engine_model"):
            raise errors.InvalidModelError(
                f"Population '{self.label}': cell type {type(self.celltype).__name__} is not a "
                "spinn standard model")
        ps = self.celltype.native_parameters
        ps.shape = (self.size,)
        self._parameters = {}
        for name, value in ps.items():
            if name == "spike_times":
                self._parameters[name] = (value.evaluate(simplify=True)
                                          if value.is_homogeneous else
                                          value.evaluate(simplify=False))
            else:
                self._parameters[name] = _engine_value(value, self.size)
        model = self.celltype.engine_model
        max_per_core = state.default_max_per_core.get(model, 256)
        self._spec = PopulationSpec(
            id=len(state.network.populations), label=self.label or f"population{self.size}",
            size=self.size, model=model, first_gid=first, params={}, initial={},
            max_atoms_per_core=max_per_core)
        self._sync_spec()
        state.network.populations.append(self._spec)
        state.populations.append(self)

    def _sync_spec(self):
        spec = self._spec
        if spec.model == "SpikeSourceArray":
            spec.spike_times = _spike_times_source(self._parameters["spike_times"], self.size)
            spec.params = {}
        else:
            spec.params = dict(self._parameters)
