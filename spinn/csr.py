"""Compressed sparse rows: the one operation the step loop needs on them."""
from __future__ import annotations

import numpy as np


def row_entries(ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Indices of all entries of ``rows`` (in order), for row pointers ``ptr``.

    One vectorised gather, used to expand the synaptic rows of received
    spikes (by source) and the incoming plastic synapses of fired neurons
    (by target).

    >>> row_entries(np.array([0, 2, 2, 5]), np.array([2, 0])).tolist()
    [2, 3, 4, 0, 1]
    """
    starts = ptr[rows]
    lens = ptr[rows + 1] - starts
    total = int(lens.sum())
    return np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
