"""PyNN Recorder hooks backed by the engine's gathered data.

What a population records is part of its frozen description (a
:class:`~spinn.values.RecordSpec` per variable); recording more or other
cells between runs is a new version of it. Gathers are collective and move
typed buffers of only the cells asked for.
"""
from __future__ import annotations

import neo
import numpy as np
from pyNN import recording

from ..values import RecordSpec
from . import simulator
from .simulator import state


class Recorder(recording.Recorder):
    _simulator = simulator

    def _spec(self):
        return self.population._spec

    def _sync(self):
        """Copy PyNN's record settings into the population's spec."""
        spec = self._spec()
        interval = max(1, int(round(self.sampling_interval / state.dt)))
        record = {}
        for variable, ids in self.recorded.items():
            if ids:
                idx = np.fromiter((int(i) for i in ids), dtype=np.int64) - spec.first_gid
                record[variable.name] = RecordSpec(idx, interval)
        self.population._spec = state.network.replace("populations", spec.id, record=record)
        state.sync()

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

    def _get_current_segment(self, filter_ids=None, variables="all", clear=False):
        """Gather every variable of the segment first, in sorted order.

        PyNN walks ``set(self.recorded)``, whose order follows per-process
        string hashing: under MPI two ranks could then enter the gathers (which
        are collective) in different orders. Gathering up front, sorted, keeps
        every rank in step; PyNN's hooks then read the prefetched data.
        """
        names = sorted(v.name for v, ids in self.recorded.items() if ids)
        if variables != "all":
            wanted = {getattr(v, "name", v) for v in variables}
            names = [n for n in names if n in wanted]
        sim, spec = state.readable_simulation(), self._spec()
        interval = max(1, int(round(self.sampling_interval / state.dt)))
        first = int(round(float(self._recording_start_time) / state.dt))
        self._prefetched = {}
        for variable, ids in sorted(self.recorded.items(), key=lambda item: item[0].name):
            name = variable.name
            if name not in names:
                continue
            wanted = np.sort(np.fromiter((int(i) for i in self.filter_recorded(
                variable, filter_ids)), dtype=np.int64))
            if name == "spikes":
                self._prefetched[name] = sim.gather_spikes(spec.id, wanted)
            else:
                self._prefetched[name] = (wanted, sim.gather_signal(spec.id, name, wanted,
                                                                    first, interval))
        try:
            return super()._get_current_segment(filter_ids, variables, clear)
        finally:
            self._prefetched = {}

    def _get_spiketimes(self, ids, clear=False):
        gids, times = self._prefetched["spikes"]
        wanted = np.fromiter((int(i) for i in ids), dtype=np.int64)
        keep = np.isin(gids, wanted)
        return gids[keep], times[keep]

    def _get_all_signals(self, variable, ids, clear=False):
        gids = np.fromiter((int(i) for i in ids), dtype=np.int64)
        columns, samples = self._prefetched[variable.name]
        out = np.full((samples.shape[0], gids.size), np.nan)
        pos = np.searchsorted(columns, gids)
        found = (pos < columns.size) & (columns[np.minimum(pos, columns.size - 1)] == gids)
        out[:, found] = samples[:, pos[found]]
        return out, None

    def _local_count(self, variable, filter_ids=None):
        spec = self._spec()
        wanted = np.sort(np.fromiter((int(i) for i in self.filter_recorded(variable, filter_ids)),
                                     dtype=np.int64))
        gids, _ = state.readable_simulation().gather_spikes(spec.id, wanted)
        counts = dict.fromkeys((int(i) for i in self.filter_recorded(variable, filter_ids)), 0)
        ids, n = np.unique(gids, return_counts=True)
        for i, c in zip(ids.tolist(), n.tolist()):
            if i in counts:
                counts[i] = c
        return counts

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
