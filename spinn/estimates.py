"""Estimates for mapping: the partitioner's view of a :class:`~spinn.network.NetworkSpec`.

:func:`network_graph` turns populations into vertices and projections into
edges, with *expected* synapse counts per edge, rates per vertex and bytes
per neuron, all computed from the descriptions: no connector is expanded,
nothing is materialised per neuron or per synapse (a 100-million-neuron
description costs microseconds per projection).

Expected synapses of a projection with ``n_pre`` pre and ``n_post`` post
neurons, by connector kind:

=====================  =====================================
``all_to_all``         ``n_pre * n_post`` (minus the diagonal
                       without self-connections)
``one_to_one``         ``min(n_pre, n_post)``
``fixed_probability``  ``p_connect * n_pre * n_post``
``fixed_number_pre``   ``n * n_post``
``fixed_number_post``  ``n * n_pre``
``from_list``          ``len(conn_list)``
``callback``           unknown: ``n_pre * n_post`` (an upper bound)
=====================  =====================================

A projection over several populations (an assembly or view) spreads its
synapses over the (pre, post) population pairs in proportion to the neurons
of each pair.
"""
from __future__ import annotations

import numpy as np

import partitioning

from .models import MODELS, N_RECEPTORS
from .network import NetworkSpec, ProjectionSpec

__all__ = ["network_graph", "expected_synapses", "BYTES_PER_SYNAPSE"]

#: One synapse on its target rank: target index (int64), weight (float64).
#: The delay and receptor are folded into a ring-buffer offset (int64) and
#: the row pointer is per source neuron, so ~16 bytes plus row overhead.
BYTES_PER_SYNAPSE = 16.0
#: Per neuron besides parameters, state and ring buffer: global id (int64),
#: key (uint32), slice index (int64), input currents, gid sort order.
_BYTES_PER_NEURON_BOOKKEEPING = 56.0
#: Ring-buffer slots assumed when a delay is not a single number.
_DEFAULT_RING_SLOTS = 16


def expected_synapses(projection: ProjectionSpec) -> float:
    """Expected number of synapses of a projection, from its connector description.

    >>> from spinn.network import ConnectorSpec, ProjectionSpec, ValueSpec
    >>> c = ConnectorSpec("fixed_probability", {"p_connect": 0.1})
    >>> p = ProjectionSpec(0, "p", np.arange(100), np.arange(50), (0,), (0,), c,
    ...                    ValueSpec("scalar", 1.0), ValueSpec("scalar", 1.0), 0)
    >>> expected_synapses(p)
    500.0
    """
    n_pre, n_post = len(projection.pre_gids), len(projection.post_gids)
    connector = projection.connector
    kind, params = connector.kind, connector.params
    if kind == "all_to_all":
        total = float(n_pre) * n_post
        if not connector.allow_self_connections and (
                set(projection.pre_populations) & set(projection.post_populations)):
            total -= min(n_pre, n_post)  # the diagonal, when both sides share neurons
        return max(total, 0.0)
    if kind == "one_to_one":
        return float(min(n_pre, n_post))
    if kind == "fixed_probability":
        return float(params["p_connect"]) * n_pre * n_post
    if kind == "fixed_number_pre":
        return float(params["n"]) * n_post
    if kind == "fixed_number_post":
        return float(params["n"]) * n_pre
    if kind == "from_list":
        return float(len(params["conn_list"]))
    return float(n_pre) * n_post


def _neurons_per_population(spec: NetworkSpec, gids: np.ndarray, populations: tuple) -> dict:
    """Neurons of ``gids`` in each population (no per-neuron work for one population)."""
    if len(populations) == 1:
        return {populations[0]: len(gids)}
    counts = np.bincount(spec.population_of_gid(np.asarray(gids, dtype=np.int64)),
                         minlength=len(spec.populations))
    return {p: int(counts[p]) for p in populations if counts[p]}


def _ring_slots(spec: NetworkSpec, population: int) -> int:
    """Ring-buffer slots a population's incoming delays need (max delay in steps + 1)."""
    slots = 2
    for projection in spec.projections:
        if population not in projection.post_populations:
            continue
        delay = projection.delay
        if delay.kind == "scalar":
            slots = max(slots, int(np.rint(float(delay.value) / spec.dt_ms)) + 1)
        else:
            slots = max(slots, _DEFAULT_RING_SLOTS)
    return slots


def _rate(population, default: float) -> float:
    """A source's own scalar ``rate`` (Hz) if it has one, else ``default``."""
    rate = population.params.get("rate") if population.model.startswith("SpikeSource") else None
    if rate is not None and np.ndim(rate) == 0 and not callable(rate):
        return float(rate)
    return default


def _bytes_per_neuron(spec: NetworkSpec, index: int) -> float:
    population = spec.populations[index]
    model = MODELS.get(population.model)
    n_values = 0
    if model is not None:
        n_values = len(model.parameter_names()) + len(model.state_names())
    ring = _ring_slots(spec, index) * N_RECEPTORS
    return 8.0 * (n_values + ring) + _BYTES_PER_NEURON_BOOKKEEPING


def network_graph(spec: NetworkSpec, *, rate_hz: float = 10.0) -> partitioning.Graph:
    """The partitioner's view of a network, with expected synapses, rates and memory.

    Parameters
    ----------
    spec : NetworkSpec
    rate_hz : float, keyword-only
        Expected mean rate of every population, in Hz (a spike source with a
        scalar ``rate`` parameter uses its own).

    Returns
    -------
    partitioning.Graph
        One vertex per population (``n_atoms`` = size, its
        ``max_atoms_per_core``, label), one edge per (pre population, post
        population) pair of each projection, with ``synapses`` (expected
        count), ``rate_hz``, ``bytes_per_atom`` (parameters, state, ring
        buffer and bookkeeping; synapses are added by the partitioner at
        ``bytes_per_synapse`` = 16 each) and ``dt_ms``.
    """
    edges, synapses = [], []
    for projection in spec.projections:
        total = expected_synapses(projection)
        pre = _neurons_per_population(spec, projection.pre_gids, projection.pre_populations)
        post = _neurons_per_population(spec, projection.post_gids, projection.post_populations)
        n_pre, n_post = sum(pre.values()), sum(post.values())
        for a, n_a in pre.items():
            for b, n_b in post.items():
                edges.append((a, b))
                share = (n_a / n_pre) * (n_b / n_post) if n_pre and n_post else 0.0
                synapses.append(total * share)
    populations = spec.populations
    return partitioning.Graph(
        n_atoms=np.array([p.size for p in populations], dtype=np.int64),
        max_atoms_per_core=np.array([p.max_atoms_per_core for p in populations],
                                    dtype=np.int64),
        edges=np.array(edges, dtype=np.int64).reshape(-1, 2),
        labels=tuple(p.label for p in populations),
        synapses=np.array(synapses, dtype=np.float64),
        rate_hz=np.array([_rate(p, rate_hz) for p in populations], dtype=np.float64),
        bytes_per_atom=np.array([_bytes_per_neuron(spec, i) for i in range(len(populations))],
                                dtype=np.float64),
        bytes_per_synapse=BYTES_PER_SYNAPSE,
        dt_ms=float(spec.dt_ms),
    )
