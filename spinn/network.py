"""The engine's own network description (no PyNN in here).

The PyNN layer translates populations and projections into these records.
They only *describe*: nothing per synapse exists until a rank builds its
image, and per-neuron values stay lazy (:data:`ParamValue`) until a rank asks
for the slice it owns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

import numpy as np

#: A per-neuron value: a scalar, a full-size array, or a callable
#: ``f(lo, hi) -> array`` giving the values of neurons ``[lo, hi)``.
ParamValue = Union[float, np.ndarray, Callable[[int, int], np.ndarray]]


class GidRange:
    """The global ids ``start .. start + size - 1`` without storing them.

    Behaves like the int64 array it stands for where the engine needs it
    (``len``, indexing with ints, slices and index arrays, comparison, and
    ``numpy.asarray``), so that a projection between whole populations costs
    nothing per neuron until a rank expands it.

    >>> r = GidRange(10, 5)
    >>> len(r), int(r[1]), r[np.array([0, 4])].tolist()
    (5, 11, [10, 14])
    """

    def __init__(self, start: int, size: int):
        self.start, self.size = int(start), int(size)

    def __len__(self):
        return self.size

    @property
    def shape(self):
        return (self.size,)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            i = int(index) + (self.size if index < 0 else 0)
            if not 0 <= i < self.size:
                raise IndexError(index)
            return np.int64(self.start + i)
        if isinstance(index, slice):
            return np.arange(self.start, self.start + self.size, dtype=np.int64)[index]
        index = np.asarray(index)
        if index.dtype == bool:
            return np.flatnonzero(index).astype(np.int64) + self.start
        return index.astype(np.int64) + self.start

    def __array__(self, dtype=None, copy=None):
        return np.arange(self.start, self.start + self.size, dtype=dtype or np.int64)

    def __eq__(self, other):
        return np.asarray(self) == other

    __hash__ = None


def steps_to_ms(steps, dt: float) -> np.ndarray:
    """Times or delays in steps as ms, without ``0.1 * 3 = 0.30000000000000004``.

    When ``1/dt`` is a whole number, dividing by it gives the correctly
    rounded decimal value (152 / 10 = 15.2).

    >>> steps_to_ms(np.array([152, 3]), 0.1).tolist()
    [15.2, 0.3]
    """
    per_ms = 1.0 / dt
    if abs(per_ms - round(per_ms)) < 1e-9:
        return np.asarray(steps) / round(per_ms)
    return np.asarray(steps) * dt


def evaluate(value: ParamValue, lo: int, hi: int) -> np.ndarray:
    """Values of neurons ``[lo, hi)`` as a float64 array."""
    if callable(value):
        out = np.asarray(value(lo, hi), dtype=np.float64)
    elif np.ndim(value) == 0:
        out = np.full(hi - lo, float(value))
    else:
        out = np.asarray(value, dtype=np.float64)[lo:hi]
    if out.shape != (hi - lo,):
        raise ValueError(f"expected {hi - lo} values, got shape {out.shape}")
    return out


@dataclass
class PopulationSpec:
    """One population: a block of ``size`` consecutive global neuron ids."""
    id: int
    label: str
    size: int
    model: str                      # engine model name, e.g. "IF_curr_exp"
    first_gid: int
    params: dict                    # name -> ParamValue (model units: ms, mV, nA, nF, Hz)
    initial: dict                   # state name -> ParamValue
    max_atoms_per_core: int = 256
    #: SpikeSourceArray only: spike times per neuron, a callable
    #: ``f(lo, hi) -> list of arrays (ms)``
    spike_times: Callable | None = None
    record: dict = field(default_factory=dict)   # variable -> (indices array, interval_steps)


@dataclass
class ValueSpec:
    """A synaptic attribute (weight or delay) before generation.

    kind: ``"scalar"`` (value), ``"array"`` (value: 2-D n_pre x n_post),
    ``"distribution"`` (value: (name, parameters)), ``"list"`` (values given
    per connection, by a FromList connector).
    """
    kind: str
    value: object


@dataclass
class ConnectorSpec:
    """A connector description the owning rank expands.

    kind: ``all_to_all``, ``one_to_one``, ``fixed_probability``,
    ``fixed_number_pre``, ``fixed_number_post``, ``from_list`` or
    ``callback`` (a generic fallback: ``params["generate"](post_indices)``
    returns ``(pre, post, weight|None, delay|None)`` for those posts).
    """
    kind: str
    params: dict = field(default_factory=dict)
    allow_self_connections: bool = True
    seed: int = 0


@dataclass
class ProjectionSpec:
    """Synapses from ``pre_gids`` (index space of the pre side) to ``post_gids``."""
    id: int
    label: str
    pre_gids: np.ndarray            # int64[n_pre]: projection pre index -> global neuron id
    post_gids: np.ndarray           # int64[n_post]
    pre_populations: tuple          # population ids touched on the pre side
    post_populations: tuple
    connector: ConnectorSpec
    weight: ValueSpec
    delay: ValueSpec
    receptor: int                   # 0 excitatory, 1 inhibitory
    receptor_name: str = "excitatory"
    #: sign rule for weights: +1 weights must be >= 0, -1 must be <= 0, 0 any
    weight_sign: int = 0
    #: a plasticity.PlasticitySpec, or None for static synapses
    plasticity: object = None
    #: a shortterm.ShortTermSpec (Tsodyks-Markram), or None
    short_term: object = None


@dataclass
class NetworkSpec:
    """Everything needed to map and build the network, identical on all ranks."""
    dt_ms: float
    seed: int
    populations: list = field(default_factory=list)
    projections: list = field(default_factory=list)
    current_sources: list = field(default_factory=list)   # electrodes.CurrentSourceSpec

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)

    def population_of_gid(self, gids: np.ndarray) -> np.ndarray:
        """Index of the population holding each global neuron id."""
        starts = np.array([p.first_gid for p in self.populations], dtype=np.int64)
        return np.searchsorted(starts, gids, side="right") - 1
