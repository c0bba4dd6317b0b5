"""Per-rank recording buffers, behind one small interface.

Each rank keeps what its own neurons produced; gathering happens only when
the user asks for data, and only for the cells and variables asked for. The
buffers are appended to in chunks (one array per step that produced data), so
they can later be flushed to per-rank chunk files without changing callers.
"""
from __future__ import annotations

import numpy as np


class SpikeBuffer:
    """Spikes of recorded local neurons: (global id, time stamp in steps)."""

    def __init__(self):
        self._gids: list[np.ndarray] = []
        self._stamps: list[np.ndarray] = []

    def append(self, stamp: int, gids: np.ndarray) -> None:
        self._gids.append(gids)
        self._stamps.append(np.full(gids.size, stamp, dtype=np.int64))

    def select(self, lo: int, hi: int):
        """Spikes of gids in ``[lo, hi)``: ``(gids, stamps)`` in time order."""
        self._compact()
        if not self._gids:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        g, s = self._gids[0], self._stamps[0]
        keep = (g >= lo) & (g < hi)
        return g[keep], s[keep]

    def drop(self, lo: int, hi: int) -> None:
        """Forget the spikes of gids in ``[lo, hi)`` (``get_data(clear=True)``)."""
        self._compact()
        if self._gids:
            keep = ~((self._gids[0] >= lo) & (self._gids[0] < hi))
            self._gids = [self._gids[0][keep]]
            self._stamps = [self._stamps[0][keep]]

    def _compact(self):
        if len(self._gids) > 1:
            self._gids = [np.concatenate(self._gids)]
            self._stamps = [np.concatenate(self._stamps)]


class SignalBuffer:
    """Samples of one state variable of some local neurons of one cell group.

    ``columns`` index into the group's state arrays; ``gids`` are the matching
    global ids. A sample is taken at every stamp (time in steps) that is a
    multiple of ``interval``.
    """

    def __init__(self, gids: np.ndarray, columns: np.ndarray, interval: int):
        self.gids = gids
        self.columns = columns
        self.interval = interval
        self.stamps: list[int] = []
        self.samples: list[np.ndarray] = []

    def maybe_sample(self, stamp: int, values: np.ndarray) -> None:
        if stamp % self.interval == 0:
            self.stamps.append(stamp)
            self.samples.append(values[self.columns])

    def array(self) -> np.ndarray:
        """Samples as an (n_samples, n_gids) array."""
        if not self.samples:
            return np.zeros((0, self.gids.size))
        return np.vstack(self.samples)

    def clear(self) -> None:
        self.stamps, self.samples = [], []
