"""Estimates for mapping: the partitioner's view of a :class:`~spinn.network.NetworkSpec`.

:func:`network_graph` turns populations into vertices and projections into
edges, with *expected* synapse counts per edge (each connector's
``expected_synapses``), rates per vertex and bytes per neuron, all computed
from the descriptions: no connector is expanded, nothing is materialised per
neuron or per synapse (a 100-million-neuron description costs microseconds
per projection).

A projection over several populations (an assembly or view) spreads its
synapses over the (pre, post) population pairs in proportion to the neurons
of each pair.
"""
from __future__ import annotations

import numpy as np

import partitioning

from .build import geometry_for
from .connectors import Geometry
from .costs import EVENT_SECONDS, update_seconds
from .fusion import fused_projections, source_rate
from .models import MODELS, receptor_count
from .network import NetworkSpec
from .values import is_homogeneous

__all__ = ["network_graph", "expected_synapses", "BYTES_PER_SYNAPSE"]

#: Memory of one static synapse on its target rank, as measured: peak RSS of
#: the build (transient arrays included) minus an idle ``import spinn``, over
#: the rank's synapses, for Brunel 12.5k with every weight different (8-byte
#: weights): 13.8 B (6.8 B with two distinct weights, stored as one-byte
#: table indices). ``python benchmarks/brunel.py --random-weights``; see
#: benchmarks/RESULTS.md. The partitioner's feasibility check uses it.
BYTES_PER_SYNAPSE = 14.0
#: Per neuron besides parameters, state and ring buffer: global id (int64),
#: key (uint32), slice index (int64), injected current, gid sort order.
_BYTES_PER_NEURON_BOOKKEEPING = 56.0
#: Ring-buffer slots assumed when a delay is not a single number.
_DEFAULT_RING_SLOTS = 16


def expected_synapses(projection, spec: NetworkSpec | None = None) -> float:
    """Expected number of synapses of a projection, from its connector description
    (``spec`` supplies cell positions to spatial connectors).

    >>> from spinn.connectors import FixedProbability
    >>> from spinn.network import GidRange, ProjectionSpec
    >>> p = ProjectionSpec(0, "p", GidRange(0, 100), GidRange(100, 50), (0,), (1,),
    ...                    FixedProbability(p_connect=0.1), 1, 1.0, 1.0, 0)
    >>> expected_synapses(p)
    500.0
    """
    geometry = (geometry_for(spec)(projection) if spec is not None
                else Geometry(projection.label, projection.pre, projection.post))
    return float(projection.connector.expected_synapses(geometry))


def _neurons_per_population(spec: NetworkSpec, gids, populations: tuple) -> dict:
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
        if is_homogeneous(delay):
            slots = max(slots, int(np.rint(float(delay) / spec.dt_ms)) + 1)
        else:
            slots = max(slots, _DEFAULT_RING_SLOTS)
    return slots


def _rate(population, default: float) -> float:
    return source_rate(population, default)


def _bytes_per_neuron(spec: NetworkSpec, index: int) -> float:
    population = spec.populations[index]
    model = MODELS.get(population.model)
    n_values = 0
    if model is not None:
        n_values = len(model.parameter_names()) + len(model.state_names())
    ring = _ring_slots(spec, index) * receptor_count(spec.projections)
    return 8.0 * (n_values + ring) + _BYTES_PER_NEURON_BOOKKEEPING


def network_graph(spec: NetworkSpec, *, rate_hz: float = 10.0) -> partitioning.Graph:
    """The partitioner's view of a network, with expected synapses, rates and memory.

    Parameters
    ----------
    spec : NetworkSpec
    rate_hz : float, keyword-only
        Expected mean rate of every population, in Hz (a spike source with a
        ``rate`` parameter uses its own).

    Returns
    -------
    partitioning.Graph
        One vertex per population (``n_atoms`` = size, its
        ``max_atoms_per_core``, label), one edge per (pre population, post
        population) pair of each projection, with ``synapses`` (expected
        count), ``rate_hz``, ``bytes_per_atom`` (parameters, state, ring
        buffer and bookkeeping; synapses are added by the partitioner at
        ``bytes_per_synapse`` each), ``dt_ms`` and ``cost_per_atom`` (the
        work per step of :mod:`spinn.costs`: update, events received at the
        sources' rates, fused sources). A source fused into its targets
        (:mod:`spinn.fusion`) has no edge and no work: its targets carry it.
    """
    populations = spec.populations
    n_vertices = len(populations)
    rates = np.array([_rate(p, rate_hz) for p in populations], dtype=np.float64)
    steps_per_s = 1000.0 / spec.dt_ms
    sizes = np.array([p.size for p in populations], dtype=np.float64)
    # work per step of each whole population: its update, then its input
    work = np.array([update_seconds(p.model) * p.size for p in populations])
    memory = np.array([_bytes_per_neuron(spec, i) for i in range(n_vertices)])
    fused = fused_projections(spec)
    edges, synapses = [], []
    for projection in spec.projections:
        total = expected_synapses(projection, spec)
        post = _neurons_per_population(spec, projection.post, projection.post_populations)
        n_post = sum(post.values())
        source = projection.pre_populations[0]
        if fused.get(source) == projection.id:
            # generated next to the targets: the targets do the work, nothing
            # travels (a token load keeps the placer's arithmetic finite)
            work[source] = 1e-12 * sizes[source]
            memory[source] = 0.0
            for b, n_b in post.items():
                work[b] += n_b * (update_seconds(populations[source].model)
                                  + rates[source] / steps_per_s * EVENT_SECONDS)
                memory[b] += 8.0 * (len(MODELS[populations[source].model].parameter_names())
                                    + 4) * n_b / sizes[b]
            continue
        pre = _neurons_per_population(spec, projection.pre, projection.pre_populations)
        n_pre = sum(pre.values())
        for a, n_a in pre.items():
            for b, n_b in post.items():
                edges.append((a, b))
                share = (n_a / n_pre) * (n_b / n_post) if n_pre and n_post else 0.0
                synapses.append(total * share)
                work[b] += total * share * rates[a] / steps_per_s * EVENT_SECONDS
    return partitioning.Graph(
        n_atoms=np.array([p.size for p in populations], dtype=np.int64),
        max_atoms_per_core=np.array([p.max_atoms_per_core for p in populations],
                                    dtype=np.int64),
        edges=np.array(edges, dtype=np.int64).reshape(-1, 2),
        labels=tuple(p.label for p in populations),
        synapses=np.array(synapses, dtype=np.float64),
        rate_hz=rates,
        bytes_per_atom=memory,
        bytes_per_synapse=BYTES_PER_SYNAPSE,
        dt_ms=float(spec.dt_ms),
        cost_per_atom=work / sizes,
    )
