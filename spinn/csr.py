"""Compressed sparse rows: the operations the step loop needs on them."""
from __future__ import annotations

import numpy as np


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])``, vectorised.

    >>> ranges(np.array([5, 0]), np.array([2, 3])).tolist()
    [5, 6, 0, 1, 2]
    """
    ends = np.cumsum(lengths, dtype=np.int64)
    if ends.size == 0:
        return ends
    out = np.arange(ends[-1], dtype=np.int64)
    out += np.repeat(starts - ends + lengths, lengths)
    return out


def row_entries(ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Indices of all entries of ``rows`` (in order), for row pointers ``ptr``.

    One vectorised gather, used to expand the synaptic rows of received
    spikes (by source) and the incoming plastic synapses of fired neurons
    (by target).

    >>> row_entries(np.array([0, 2, 2, 5]), np.array([2, 0])).tolist()
    [2, 3, 4, 0, 1]
    """
    starts = ptr[rows]
    return ranges(starts, ptr[rows + 1] - starts)
