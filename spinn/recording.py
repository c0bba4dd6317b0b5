"""Per-rank recording: spikes and sampled state, every value with its time stamp.

Each rank keeps what its own neurons produced; gathering happens only when
the user asks for data, and only for the cells and variables asked for.
A sampled variable is kept as *segments*: one fixed set of cells sampled
every ``interval`` steps from the step recording began. When the set of
recorded cells changes between runs, the old segment stops and a new one
starts; nothing recorded is dropped, and every sample keeps its stamp, so a
cell added to recording later is aligned in time with the others (NaN
before it was recorded, see :func:`signal_grid`).

Recorded data are *streamed*: with a :class:`ChunkFile` as its sink a rank
appends what it recorded to its own file in chunks (one self-contained
msgpack record each, with its step range), and keeps in memory only what
came since the last chunk, so recording memory stays bounded however long
the run. A file cut short by a crash is readable up to its last complete
chunk (:func:`read_chunks`). Reads combine the file and what is in memory.
"""
from __future__ import annotations

import os

import msgpack
import numpy as np

__all__ = ["SpikeBuffer", "SignalSegment", "RankRecorder", "signal_grid", "ChunkFile",
           "read_chunks", "recording_file"]

CHUNK_VERSION = 1


class ChunkFile:
    """One rank's recording file: msgpack records appended one by one."""

    def __init__(self, path):
        self.path = str(path)
        self._file = None

    def write(self, record: dict) -> None:
        if self._file is None:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            self._file = open(self.path, "ab")
        self._file.write(msgpack.packb(dict(record, v=CHUNK_VERSION), use_bin_type=True))
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def chunks(self):
        if self._file is not None:
            self._file.flush()
        return read_chunks(self.path)


def recording_file(segment: int, rank: int) -> str:
    """The name of rank ``rank``'s recording file of segment ``segment``."""
    return f"segment{segment:03d}-rank{rank:05d}.msgpack"


def read_chunks(path):
    """The complete records of a recording file, in order (a record cut short
    at the end, as a killed rank leaves it, is not returned)."""
    if not os.path.exists(path):
        return
    with open(path, "rb") as f:
        unpacker = msgpack.Unpacker(f, raw=False, max_buffer_size=2**31 - 1)
        try:
            for record in unpacker:
                if isinstance(record, dict) and "kind" in record:
                    yield record
        except (ValueError, msgpack.exceptions.UnpackException):
            return


def _array(record: dict, name: str, dtype) -> np.ndarray:
    return np.frombuffer(record[name], dtype=dtype)


def _bytes(array: np.ndarray, dtype) -> bytes:
    return np.ascontiguousarray(array, dtype=dtype).tobytes()


class SpikeBuffer:
    """Spikes of recorded local neurons: (global id, time stamp in steps).

    A step appends its array of ids and its stamp (one int); the stamps are
    expanded only when the spikes are read (no array per step for them)."""

    def __init__(self):
        self._gids = np.zeros(0, np.int64)      # compacted
        self._stamps = np.zeros(0, np.int64)
        self._new_gids: list[np.ndarray] = []  # appended since, one array per step
        self._new_stamps: list[int] = []
        self.n_new = 0                          # spikes in _new_gids

    def append(self, stamp: int, gids: np.ndarray) -> None:
        self._new_gids.append(gids)
        self._new_stamps.append(stamp)
        self.n_new += gids.size

    def select(self, lo: int, hi: int, gids: np.ndarray | None = None):
        """Spikes of gids in ``[lo, hi)`` (and in sorted ``gids``, if given):
        ``(gids, stamps)`` in time order."""
        self._compact()
        g, s = self._gids, self._stamps
        keep = (g >= lo) & (g < hi)
        if gids is not None:
            keep &= np.isin(g, gids)
        return g[keep], s[keep]

    def drop(self, lo: int, hi: int) -> None:
        """Forget the spikes of gids in ``[lo, hi)`` (``get_data(clear=True)``)."""
        self._compact()
        keep = ~((self._gids >= lo) & (self._gids < hi))
        self._gids, self._stamps = self._gids[keep], self._stamps[keep]

    def _compact(self):
        if self._new_gids:
            sizes = np.fromiter((g.size for g in self._new_gids), dtype=np.int64,
                                count=len(self._new_gids))
            self._gids = np.concatenate([self._gids] + self._new_gids).astype(np.int64,
                                                                            copy=False)
            self._stamps = np.concatenate([self._stamps, np.repeat(
                np.asarray(self._new_stamps, dtype=np.int64), sizes)])
            self._new_gids, self._new_stamps = [], []
            self.n_new = 0


class SignalSegment:
    """Samples of one state variable of a fixed set of local neurons.

    ``slot`` is the cell-group slot holding them (its ``group.state`` is
    read at each sample), ``columns`` their indices in that group, ``gids``
    their global ids. A sample is taken at every stamp that is a multiple of
    ``interval`` while the segment is active.
    """

    def __init__(self, slot, variable: str, gids: np.ndarray, columns: np.ndarray,
                 interval: int):
        self.slot, self.variable = slot, variable
        self.gids, self.columns, self.interval = gids, columns, interval
        self.active = True
        self.stamps: list[int] = []
        self.samples: list[np.ndarray] = []
        self.last = None            # the last stamp sampled (also after a flush)

    def sample(self, stamp: int) -> None:
        if stamp % self.interval == 0 and self.last != stamp:
            self.last = stamp
            self.stamps.append(stamp)
            self.samples.append(self.slot.group.state[self.variable][self.columns])

    def drop_before(self, stamp: int) -> None:
        keep = [i for i, s in enumerate(self.stamps) if s >= stamp]
        self.stamps = [self.stamps[i] for i in keep]
        self.samples = [self.samples[i] for i in keep]

    def triples(self, gids: np.ndarray | None = None):
        """``(gid, stamp, value)`` of every sample (of ``gids`` only, if given)."""
        cols = (np.arange(self.gids.size) if gids is None
                else np.flatnonzero(np.isin(self.gids, gids)))
        if not self.stamps or cols.size == 0:
            e = np.zeros(0, dtype=np.int64)
            return e, e, np.zeros(0)
        values = np.vstack(self.samples)[:, cols]
        n = len(self.stamps)
        return (np.tile(self.gids[cols], n), np.repeat(np.array(self.stamps, np.int64), cols.size),
                values.ravel())


class ArchivedSignal:
    """Samples recorded before a restore or a rebuild: ``(gid, stamp, value)``
    rows, read like a finished :class:`SignalSegment`."""

    active = False

    def __init__(self, gids: np.ndarray, stamps: np.ndarray, values: np.ndarray):
        self.gids_, self.stamps_, self.values_ = gids, stamps, values

    @property
    def stamps(self):
        return self.stamps_.tolist() if self.stamps_.size else []

    def sample(self, stamp: int) -> None:       # finished: takes no samples
        pass

    def drop_before(self, stamp: int) -> None:
        keep = self.stamps_ >= stamp
        self.gids_, self.stamps_, self.values_ = (self.gids_[keep], self.stamps_[keep],
                                                  self.values_[keep])

    def triples(self, gids: np.ndarray | None = None):
        if gids is None:
            return self.gids_, self.stamps_, self.values_
        keep = np.isin(self.gids_, gids)
        return self.gids_[keep], self.stamps_[keep], self.values_[keep]


class RankRecorder:
    """What one rank records: spikes of flagged neurons, signal segments.

    ``slots`` are the rank's cell-group slots (``lo``, ``hi``, ``group``,
    ``populations``); ``local_index`` maps global ids to local indices.
    """

    #: values held in memory before they are written as a chunk
    CHUNK_VALUES = 1 << 20

    def __init__(self, slots, n_local: int, local_index, sink: ChunkFile | None = None):
        self.slots = slots
        self.local_index = local_index
        self.spikes = SpikeBuffer()
        self.record_spikes = np.zeros(n_local, dtype=bool)
        self.signals: dict = {}          # (population id, variable) -> [SignalSegment]
        self.sink = sink                 # None: everything stays in memory
        self.n_spikes_recorded = 0
        self.n_samples_recorded = 0

    # -- streaming -------------------------------------------------------------------
    def pending(self) -> int:
        """Values in memory not yet written."""
        n = self.spikes.n_new + self.spikes._gids.size
        for segments in self.signals.values():
            for s in segments:
                n += len(s.stamps) * (s.gids.size if hasattr(s, "columns") else 1)
        return n

    def values_per_step(self) -> float:
        """At most how many values a step adds (every recorded neuron
        spiking, every active signal sampled): how often to look at
        :meth:`pending`."""
        n = float(np.count_nonzero(self.record_spikes))
        for segments in self.signals.values():
            s = segments[-1] if segments else None
            if s is not None and s.active and hasattr(s, "columns"):
                n += s.gids.size / s.interval
        return n

    def flush(self) -> None:
        """Write what is in memory as chunks and forget it (no sink: keep it)."""
        if self.sink is None:
            return
        sp = self.spikes
        sp._compact()
        if sp._gids.size:
            self.sink.write({"kind": "spikes", "first": int(sp._stamps.min()),
                             "last": int(sp._stamps.max()), "gid": _bytes(sp._gids, np.int64),
                             "stamp": _bytes(sp._stamps, np.int64)})
            self.n_spikes_recorded += sp._gids.size
            sp._gids, sp._stamps = sp._gids[:0], sp._stamps[:0]
        for (pid, variable), segments in self.signals.items():
            for s in segments:
                if not s.stamps:
                    continue
                gids, stamps, values = s.triples()
                self.sink.write({"kind": "signal", "pop": int(pid), "var": variable,
                                 "first": int(stamps.min()), "last": int(stamps.max()),
                                 "gid": _bytes(gids, np.int64), "stamp": _bytes(stamps, np.int64),
                                 "value": _bytes(values, np.float64)})
                self.n_samples_recorded += values.size
                if isinstance(s, ArchivedSignal):
                    s.gids_, s.stamps_, s.values_ = gids[:0], stamps[:0], values[:0]
                else:
                    s.stamps, s.samples = [], []
            segments[:] = [s for s in segments[:-1] if s.stamps] + segments[-1:]

    def select_spikes(self, lo: int, hi: int, gids: np.ndarray | None = None):
        """Recorded spikes of gids in ``[lo, hi)`` (and in sorted ``gids``):
        ``(gids, stamps)``, from the file and from memory."""
        parts = []
        if self.sink is not None:
            for record in self.sink.chunks():
                if record["kind"] == "clear":
                    parts = [(g[(g < record["lo"]) | (g >= record["hi"])],
                              t[(g < record["lo"]) | (g >= record["hi"])]) for g, t in parts]
                elif record["kind"] == "spikes":
                    g, t = _array(record, "gid", np.int64), _array(record, "stamp", np.int64)
                    keep = (g >= lo) & (g < hi)
                    if gids is not None:
                        keep &= np.isin(g, gids)
                    parts.append((g[keep], t[keep]))
        parts.append(self.spikes.select(lo, hi, gids))
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))

    def _slot_of(self, local: int):
        for slot in self.slots:
            if slot.lo <= local < slot.hi:
                return slot
        raise KeyError(local)

    def configure(self, populations, stamp: int, neurons) -> None:
        """(Re)apply the populations' record settings at step ``stamp``
        (``neurons``: the rank's :class:`~spinn.build.LocalNeurons`; only
        their index ranges are asked about, nothing of a population's size
        is made)."""
        self.record_spikes[:] = False
        wanted = set()
        for pop in populations:
            for variable, spec in pop.record.items():
                parts = [pop.first_gid + spec.between(lo - pop.first_gid, hi - pop.first_gid)
                         for lo, hi in neurons.within(pop.first_gid,
                                                      pop.first_gid + pop.size).tolist()]
                gids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
                if gids.size == 0:
                    continue
                local = self.local_index(gids)
                if variable == "spikes":
                    self.record_spikes[local] = True
                    continue
                key = (pop.id, variable)
                wanted.add(key)
                segments = self.signals.setdefault(key, [])
                current = segments[-1] if segments and segments[-1].active else None
                if (current is not None and current.interval == spec.interval
                        and np.array_equal(current.gids, gids)):
                    continue
                if current is not None:
                    current.active = False
                slot = self._slot_of(int(local[0]))
                segment = SignalSegment(slot, variable, gids, local - slot.lo, spec.interval)
                segment.sample(stamp)
                segments.append(segment)
        for key, segments in self.signals.items():
            if key not in wanted and segments:
                segments[-1].active = False

    def import_archive(self, spikes: dict | None, signals: dict) -> None:
        """What was recorded before (model coordinates: :mod:`spinn.state`),
        placed before anything recorded from now on."""
        if spikes is not None and spikes["gid"].size:
            self.spikes._compact()
            order = np.argsort(spikes["step"], kind="stable")
            self.spikes._gids = np.concatenate((spikes["gid"][order], self.spikes._gids))
            self.spikes._stamps = np.concatenate((spikes["step"][order], self.spikes._stamps))
        for key, table in signals.items():
            if table["gid"].size:
                self.signals.setdefault(key, []).insert(
                    0, ArchivedSignal(table["gid"], table["step"], table["value"]))

    def resample(self, stamp: int) -> None:
        """Take again the samples at ``stamp`` (the state was written after them)."""
        for segments in self.signals.values():
            segment = segments[-1]
            if segment.active and segment.stamps and segment.stamps[-1] == stamp:
                segment.samples[-1] = segment.slot.group.state[segment.variable][
                    segment.columns]

    def sample(self, stamp: int) -> None:
        for segments in self.signals.values():
            segment = segments[-1]
            if segment.active:
                segment.sample(stamp)

    def signal_triples(self, pop_id: int, variable: str, gids: np.ndarray | None = None):
        parts = []
        if self.sink is not None:
            for record in self.sink.chunks():
                if record["kind"] == "clear" and record["pop"] == pop_id:
                    parts = [tuple(x[p[1] >= record["stamp"]] for x in p) for p in parts]
                elif (record["kind"] == "signal" and record["pop"] == pop_id
                      and record["var"] == variable):
                    g = _array(record, "gid", np.int64)
                    keep = slice(None) if gids is None else np.isin(g, gids)
                    parts.append((g[keep], _array(record, "stamp", np.int64)[keep],
                                  _array(record, "value", np.float64)[keep]))
        parts += [s.triples(gids) for s in self.signals.get((pop_id, variable), [])]
        if not parts:
            e = np.zeros(0, dtype=np.int64)
            return e, e, np.zeros(0)
        return tuple(np.concatenate(x) for x in zip(*parts))

    def clear(self, pop_id: int, lo: int, hi: int, stamp: int) -> None:
        """Forget a population's data before step ``stamp`` (its spikes, all)."""
        if self.sink is not None:
            self.sink.write({"kind": "clear", "pop": int(pop_id), "lo": int(lo), "hi": int(hi),
                             "stamp": int(stamp), "first": int(stamp), "last": int(stamp)})
        self.spikes.drop(lo, hi)
        for (pid, _), segments in self.signals.items():
            if pid == pop_id:
                for s in segments:
                    s.drop_before(stamp)
                segments[:] = [s for s in segments if s.active or s.stamps]


def signal_grid(gids: np.ndarray, stamps: np.ndarray, values: np.ndarray, columns: np.ndarray,
                first: int, last: int, interval: int) -> np.ndarray:
    """Samples as an ``(n_samples, len(columns))`` array over the stamps
    ``first, first + interval, ... <= last``, NaN where a cell was not sampled.

    >>> signal_grid(np.array([7, 7, 9]), np.array([0, 2, 2]), np.array([1., 2., 3.]),
    ...             np.array([7, 9]), 0, 2, 2).tolist()
    [[1.0, nan], [2.0, 3.0]]
    """
    first = -(-first // interval) * interval        # the first sampled stamp >= first
    n = max(0, (last - first) // interval + 1)
    out = np.full((n, columns.size), np.nan)
    if values.size and n and columns.size:
        offset = stamps - first
        if interval == 1:
            row, ok = offset, (offset >= 0) & (offset < n)
        else:
            row = offset // interval
            ok = (row >= 0) & (row < n) & (offset % interval == 0)
        lo, span = int(columns[0]), int(columns[-1]) - int(columns[0]) + 1
        if span <= 4 * columns.size + 1024:     # a lookup table over the columns' ids
            lut = np.full(span, -1, dtype=np.int64)
            lut[columns - lo] = np.arange(columns.size)
            local = gids - lo
            ok &= (local >= 0) & (local < span)
            col = lut[np.where(ok, local, 0)]
            ok &= col >= 0
        else:
            col = np.searchsorted(columns, gids)
            ok &= col < columns.size
            ok[ok] &= columns[col[ok]] == gids[ok]
        flat = out.reshape(-1)
        if ok.all():
            flat[row * columns.size + col] = values
        else:
            flat[row[ok] * columns.size + col[ok]] = values[ok]
    return out
