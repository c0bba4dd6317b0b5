"""PyNN Recorder hooks backed by the engine's gathered data.

What a population records is part of its frozen description (a
:class:`~spinn.values.RecordSpec` per variable); recording more or other
cells between runs is a new version of it. Gathers are collective and move
typed buffers of only the cells asked for.

PyNN's generic recorder keeps, per variable, a ``set`` of ``ID`` objects
(one Python object per recorded cell: seconds for 10^5 cells, and a
population of 10^8 neurons could not be recorded at all). Here each
variable's cells are a :class:`CellSet`, runs of indices into the
population (a whole population or a slice of it is one run), and ``record``,
``filter_recorded``, the segment, the counts and the mean spike count work
on index arrays; per-cell objects appear only where PyNN's API hands them
out (a ``get_spike_counts`` dict, neo's spike trains once a user walks them).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from warnings import warn

import neo
import numpy as np
import quantities as pq
from pyNN import errors, recording

from ..values import (RecordSpec, runs_contain, runs_count, runs_difference, runs_expand,
                      runs_intersection, runs_of, runs_span, runs_union)
from . import simulator
from .simulator import state


class CellSet:
    """The recorded cells of one variable: index ``runs`` into a population of
    ``size`` cells whose first id is ``first`` (sorted, disjoint ``[start,
    stop)`` pairs, :mod:`spinn.values`): all of a population or a slice of it
    is one run, ``k`` scattered cells at most ``k``.

    Immutable. Behaves like the set of ``ID`` objects PyNN keeps where
    PyNN code still touches it (``len``, truth, ``in``, ``==``, ``union``,
    ``difference``, ``intersection``); iterating makes the ``ID`` objects,
    which only happens when somebody asks for them.
    """
    __slots__ = ("population", "first", "size", "runs")

    def __init__(self, population, indices=None, all_cells=False, runs=None):
        self.population = population
        self.first, self.size = int(population.first_id), int(population.size)
        if all_cells:
            runs = runs_span(0, self.size)
        elif runs is None:
            runs = runs_of(indices if indices is not None else ())
        runs = np.asarray(runs, dtype=np.int64).reshape(-1, 2)
        if runs.size and (runs[0, 0] < 0 or runs[-1, 1] > self.size):
            raise IndexError(f"cell indices out of range for {self.size} cells")
        runs.setflags(write=False)
        self.runs = runs

    # -- what the recorder uses -------------------------------------------------------
    @property
    def all(self) -> bool:
        """Whether every cell of the population is in the set."""
        return len(self) == self.size

    @property
    def indices(self) -> np.ndarray:
        """The sorted indices (one int64 per cell)."""
        return runs_expand(self.runs, 0, self.size)

    @property
    def gids(self) -> np.ndarray:
        """The sorted global ids."""
        return self.indices + self.first

    def _other(self, other) -> "CellSet":
        return other if isinstance(other, CellSet) else self.of_ids(self.population, other)

    def union(self, other) -> "CellSet":
        other = self._other(other)
        if not other or self.all:
            return self
        if not self or other.all:
            return other
        return CellSet(self.population, runs=runs_union(self.runs, other.runs))

    def intersection(self, other) -> "CellSet":
        return CellSet(self.population,
                       runs=runs_intersection(self.runs, self._other(other).runs))

    def difference(self, other) -> "CellSet":
        return CellSet(self.population,
                       runs=runs_difference(self.runs, self._other(other).runs))

    __or__, __and__, __sub__ = union, intersection, difference

    @classmethod
    def of_ids(cls, population, ids) -> "CellSet":
        """The cells ``ids`` of ``population``: its ``all_cells`` or a view's
        (nothing made per cell for consecutive ids), an array of ids (``ID``
        objects or ints), or any iterable of ids. Ids of other populations are
        left out (PyNN's ``set`` intersection does the same)."""
        if isinstance(ids, CellSet):
            return ids
        if ids is population.all_cells:
            return cls(population, all_cells=True)
        first = int(population.first_id)
        if getattr(type(ids), "materialize", None) is not None:     # LazyIDs
            if getattr(ids, "_gids", None) is None:     # consecutive: one run
                lo = max(int(ids.first) - first, 0)
                hi = min(int(ids.first) + int(ids.size) - first, int(population.size))
                return cls(population, runs=runs_span(lo, hi))
            gids = ids.gids
        elif isinstance(ids, np.ndarray):
            gids = ids.astype(np.int64, copy=False)
        elif isinstance(ids, (int, np.integer)):
            gids = np.array([int(ids)], dtype=np.int64)
        else:
            gids = np.fromiter((int(i) for i in ids), dtype=np.int64)
        idx = gids - first
        return cls(population, idx[(idx >= 0) & (idx < population.size)])

    # -- set protocol (what PyNN code may still do with it) ---------------------------
    def __len__(self):
        return runs_count(self.runs)

    def __bool__(self):
        return self.runs.size > 0

    def __contains__(self, id):
        try:
            i = int(id) - self.first
        except (TypeError, ValueError):
            return False
        return bool(runs_contain(self.runs, i))

    def __iter__(self):
        """The ``ID`` objects, in order (made now: use ``indices`` instead)."""
        cells = self.population.all_cells
        for i in self.indices.tolist():
            yield cells[i]

    def __eq__(self, other):
        if isinstance(other, CellSet):
            return (self.population is other.population
                    and np.array_equal(self.runs, other.runs))
        if isinstance(other, (set, frozenset)):
            return len(self) == len(other) and all(i in self for i in other)
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        what = "all" if self.all else len(self)
        return f"CellSet({self.population.label!r}, {what} of {self.size} cells)"


class Recorder(recording.Recorder):
    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self.recorded = defaultdict(self._empty)

    def _empty(self) -> CellSet:
        return CellSet(self.population)

    def _spec(self):
        return self.population._spec

    def _engine_name(self, name: str) -> str:
        """The engine's state variable recorded under PyNN's ``name``: the
        same, except where the cell type says otherwise (``engine_variables``:
        spinn.compat records a current-based cell's ``isyn_exc`` under
        sPyNNaker's name ``gsyn_exc``)."""
        return getattr(self.population.celltype, "engine_variables", {}).get(name, name)

    def _sync(self):
        """Copy PyNN's record settings into the population's spec.

        A variable's RecordSpec is made again only when its cells or the
        interval changed, and variables recording the same cells share one
        array of index runs (a whole population is one run: recording it
        makes nothing of its size).
        """
        spec = self._spec()
        interval = max(1, int(round(self.sampling_interval / state.dt)))
        cache = getattr(self, "_record_specs", {})
        record, made = {}, {}
        for variable, cells in self.recorded.items():
            if not cells:
                continue
            old = cache.get(variable.name)
            if old is not None and old[0] is cells and old[1].interval == interval:
                rs = old[1]
            else:
                same = next((r for c, r in list(made.values()) + list(cache.values())
                             if c is cells), None)
                rs = RecordSpec(same.runs if same is not None else cells.runs, interval)
            record[self._engine_name(variable.name)] = rs
            made[variable.name] = (cells, rs)
        self._record_specs = made
        self.population._spec = state.network.replace("populations", spec.id, record=record)
        state.sync()

    def record(self, variables, ids, sampling_interval=None, locations=None):
        """Add the cells ``ids`` to the recorded cells of ``variables``
        (PyNN's ``Recorder.record`` on index arrays: a whole population's
        ``all_cells`` costs nothing per cell, a view's ``k`` cells O(k))."""
        self._check_sampling_interval(sampling_interval)
        cells = CellSet.of_ids(self.population, ids)
        for variable in self._localize_variables(variables, locations):
            if not self.population.can_record(variable.name, variable.location):
                raise errors.RecordingError(variable, self.population.celltype)
            new_cells = cells.difference(self.recorded[variable])
            self.recorded[variable] = self.recorded[variable].union(cells)
            self._record(variable, new_cells, sampling_interval)

    def reset(self):
        """Record nothing from now on (``record(None)``)."""
        self._reset()
        self.recorded = defaultdict(self._empty)

    def filter_recorded(self, variable, filter_ids):
        """The recorded cells of ``variable`` among ``filter_ids`` (a CellSet)."""
        if filter_ids is None:
            return self.recorded[variable]
        return CellSet.of_ids(self.population, filter_ids).intersection(
            self.recorded[variable])

    def _record(self, variable, new_ids, sampling_interval=None):
        if sampling_interval is not None:
            steps = sampling_interval / state.dt
            if abs(steps - round(steps)) > 1e-9 or round(steps) < 1:
                raise ValueError(
                    f"Population '{self.population.label}': sampling_interval "
                    f"{sampling_interval} ms must be a whole multiple of the timestep "
                    f"{state.dt} ms")
            self.sampling_interval = sampling_interval
        self._sync()

    def _reset(self):
        spec = self._spec()
        self.population._spec = state.network.replace("populations", spec.id, record={})
        state.sync()

    def _gather_spikes(self, cells: CellSet):
        """``(gids, times_ms)`` of the spikes of ``cells`` (collective)."""
        sim, spec = state.readable_simulation(), self._spec()
        return sim.gather_spikes(spec.id, None if cells.all else cells.gids)

    def _given_times(self, gids, times):
        """With ``spike_precision='off_grid'``, a SpikeSourceArray's spikes at the
        times it was given rather than at the ends of the steps that sent them
        (as NEST records a precise spike generator's spikes; spinn's neurons
        receive them on the grid, as NEST's on-grid neurons do). Each recorded
        spike is matched to the given time that its step sent (several to a
        step: in order); a spike no given time explains keeps its grid time."""
        from ..models.sources import emission_steps
        spec = self._spec()
        given = spec.spike_times
        if spec.model != "SpikeSourceArray" or given is None or times.size == 0:
            return times
        dt = state.dt
        owner = np.asarray(gids, dtype=np.int64) - spec.first_gid
        step = np.rint(np.asarray(times) / dt).astype(np.int64) - 1
        t_all = np.asarray(given.times, dtype=np.float64)
        t_owner = (np.zeros(t_all.size, dtype=np.int64) if given.ptr is None else
                   np.repeat(np.arange(given.ptr.size - 1, dtype=np.int64),
                             np.diff(given.ptr)))
        span = int(max(step.max(), emission_steps(t_all[-1:], dt).max(initial=0))) + 2
        if given.ptr is None:       # one list for every neuron
            t_keys = emission_steps(t_all, dt) + 1
            keys = step + 1
            order = np.lexsort((step, owner))
            # rank of each recorded spike among those of its neuron and step
            k_sorted = owner[order] * span + keys[order]
            first = np.searchsorted(k_sorted, k_sorted, "left")
            rank = np.arange(k_sorted.size) - first
            pos = np.searchsorted(t_keys, keys[order], "left") + rank
            ok = (pos < t_keys.size)
            ok[ok] &= t_keys[pos[ok]] == keys[order][ok]
        else:
            t_keys = t_owner * span + emission_steps(t_all, dt) + 1
            order = np.lexsort((step, owner))
            k_sorted = owner[order] * span + step[order] + 1
            first = np.searchsorted(k_sorted, k_sorted, "left")
            rank = np.arange(k_sorted.size) - first
            pos = np.searchsorted(t_keys, k_sorted, "left") + rank
            ok = (pos < t_keys.size)
            ok[ok] &= t_keys[pos[ok]] == k_sorted[ok]
        out = np.array(times, dtype=np.float64)
        out[order[ok]] = t_all[pos[ok]]
        return out

    def _get_current_segment(self, filter_ids=None, variables="all", clear=False):
        """The current segment, built from index arrays (PyNN's
        ``_get_current_segment`` sorts sets of IDs and finds each cell's
        index one by one).

        Variables are gathered in sorted order: PyNN walks
        ``set(self.recorded)``, whose order follows per-process string
        hashing, and under MPI two ranks could then enter the gathers (which
        are collective) in different orders.
        """
        segment = neo.Segment(name="segment%03d" % state.segment_counter,
                              description=self.population.describe(),
                              rec_datetime=datetime.now())
        wanted = None if variables == "all" else {getattr(v, "name", v) for v in variables}
        recorded = sorted(((v, cells) for v, cells in self.recorded.items() if cells),
                          key=lambda item: item[0].name)
        label = self.population.label
        t_start = self._recording_start_time
        t_stop = state.t * pq.ms
        for variable, _ in recorded:
            if wanted is not None and variable.name not in wanted:
                continue
            cells = self.filter_recorded(variable, filter_ids)
            if variable.name == "spikes":
                gids, times = self._gather_spikes(cells)
                if getattr(state, "spike_precision", "on_grid") == "off_grid":
                    times = self._given_times(gids, times)
                times = times * pq.ms
                if times.size > 0 and times.max() > t_stop:
                    warn("Recorded at least one spike after t_stop")
                    keep = times <= t_stop
                    times, gids = times[keep], gids[keep]
                segment.spiketrains = neo.spiketrainlist.SpikeTrainList.from_spike_time_array(
                    times, gids, cells.gids, t_stop=t_stop, units="ms", t_start=t_start,
                    source_population=label, source_index=np.array(cells.indices))
                segment.spiketrains.segment = segment
            else:
                signal_array = self._gather_signal(variable, cells)
                if signal_array.size == 0:
                    continue
                units = self.population.find_units(variable)
                if units == "unknown":
                    units = "dimensionless"
                if variable.location:
                    signal_name = f"{variable.label}.{variable.name}"
                else:
                    signal_name = variable.name
                signal = neo.AnalogSignal(
                    signal_array, units=units, t_start=t_start,
                    sampling_period=self.sampling_interval * pq.ms, name=signal_name,
                    channel_ids=cells.gids, source_population=label,
                    array_annotations={"channel_index": np.array(cells.indices)})
                segment.analogsignals.append(signal)
                signal.segment = segment
        return segment

    def _gather_signal(self, variable, cells: CellSet) -> np.ndarray:
        """(n_samples, len(cells)) samples of ``variable`` since the start of
        the recording (collective)."""
        sim, spec = state.readable_simulation(), self._spec()
        interval = max(1, int(round(self.sampling_interval / state.dt)))
        first = int(round(float(self._recording_start_time) / state.dt))
        return sim.gather_signal(spec.id, self._engine_name(variable.name), cells.gids, first,
                                 interval)

    # PyNN's hooks, for code that calls them directly (the segment above gathers itself)
    def _get_spiketimes(self, ids, clear=False):
        return self._gather_spikes(CellSet.of_ids(self.population, ids))

    def _get_all_signals(self, variable, ids, clear=False):
        return self._gather_signal(variable, CellSet.of_ids(self.population, ids)), None

    def _spike_counts(self, filter_ids=None):
        """``(gids, counts)`` of the recorded cells among ``filter_ids``
        (collective), as arrays."""
        spikes = recording.Variable("spikes", location=None, label=None)
        cells = self.filter_recorded(spikes, filter_ids)
        gids, _ = self._gather_spikes(cells)
        counted = cells.gids
        pos = np.searchsorted(counted, gids)
        found = pos < counted.size
        found[found] = counted[pos[found]] == gids[found]
        counts = np.bincount(pos[found], minlength=counted.size).astype(np.int64)
        return counted, counts

    def _local_count(self, variable, filter_ids=None):
        gids, counts = self._spike_counts(filter_ids)
        return dict(zip(gids.tolist(), counts.tolist()))

    def mean_count(self, filter_ids=None) -> float:
        """Mean number of spikes per recorded cell (without a dict per cell)."""
        gids, counts = self._spike_counts(filter_ids)
        return float(counts.sum()) / gids.size if gids.size else 0

    def _clear_simulator(self):
        if state.built:
            state.simulation.clear_recording(self._spec().id)

    def get(self, variables, gather=False, filter_ids=None, clear=False,
            annotations=None, locations=None):
        """The recorded data as a neo Block (PyNN's ``Recorder.get``).

        PyNN 0.13 filters stored segments (those of earlier ``reset()``
        calls) by comparing signal names with ``Variable`` tuples, which never
        match, and assigns the result to a shallow copy that shares its signal
        list with the stored segment: ``get_data("v")`` after a reset empties
        the stored segment's signals for good. This filters into new segments
        and leaves the stored ones alone.

        After ``end()`` the data recorded up to then stay readable (PyNN scenario
        test_issue499); nothing is built or updated any more.
        """
        state.readable_simulation()
        names = "all" if variables == "all" else {
            v.name for v in self._localize_variables(variables, locations)}
        data = neo.Block()
        data.segments = [_filtered(segment, names) for segment in self.cache]
        if state.running or not data.segments:     # before any run: the initial state
            data.segments.append(self._get_current_segment(
                filter_ids=filter_ids,
                variables="all" if names == "all" else self._localize_variables(
                    variables, locations), clear=clear))
        for segment in data.segments:
            segment.block = data
        data.name = self.population.label
        data.description = self.population.describe()
        data.rec_datetime = data.segments[0].rec_datetime
        data.annotate(**self.metadata)
        if annotations:
            data.annotate(**annotations)
        if clear:
            self.clear()
        return data

    def write(self, variables, file=None, gather=False, filter_ids=None,
              clear=False, annotations=None, locations=None):
        """Gather on every process (collective); only MPI rank 0 writes the file."""
        if isinstance(file, str):
            file = recording.get_io(file)
        io = file or self.file
        data = self.get(variables, gather, filter_ids, clear, annotations=annotations,
                        locations=locations)
        if state.real_rank == 0:
            io.write_block(data)


def _filtered(segment, names):
    """A new segment with only the recordings of the variables ``names``."""
    if names == "all":
        return segment
    new = neo.Segment(name=segment.name, description=segment.description,
                      rec_datetime=segment.rec_datetime, **segment.annotations)
    if "spikes" in names:
        new.spiketrains = segment.spiketrains
    new.analogsignals = [signal for signal in segment.analogsignals if signal.name in names]
    return new
