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
