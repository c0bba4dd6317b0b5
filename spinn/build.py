"""Build a rank's image: its neurons, the synapses that end on them, its router.

``build_rank_image(spec, mapping, rank)`` evaluates this rank's slices
(parameters, initial values, spike times), generates the synapses that end
on its neurons (:mod:`spinn.synapses`) and records which source slices they
need (the rank's *footprint*). Routing needs every rank's footprint: each
rank tells the owners of the slices it needs once (``Simulation`` does it
with one ``alltoallv``), then ``with_routing(image, mapping, requests)``
builds and checks this rank's own routing table. Nothing here holds a
callable or per-step state: a :class:`RankImage` is frozen arrays, which
:mod:`spinn.image` writes as they are and :class:`spinn.runtime.RankRuntime`
starts from.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

import partitioning

from .connectors import Geometry
from .errors import NetworkError
from .fusion import (FusedImage, ReplicatedImage, build_fused, build_replicated,
                     fused_projections, replicated_populations)
from .models import MODELS
from .network import GidRange, NetworkSpec
from .synapses import SynapseImage, build_synapses
from .validation import check_slice
from .values import evaluate, frozen_array, runs_of

__all__ = ["GroupImage", "RoutingImage", "RankImage", "LocalNeurons", "build_rank_image",
           "with_routing", "footprint_requests", "local_neurons", "GROUP_ORDER", "FusedImage"]

#: order of cell groups in a rank's local index space
GROUP_ORDER = tuple(MODELS)


@dataclass(frozen=True, eq=False)
class GroupImage:
    """All local neurons of one cell type: local indices ``[lo, hi)``.

    ``populations`` lists the slices as ``(population id, first gid, end
    gid, first local index)``; ``params``/``initial`` are per-neuron float64
    arrays; ``spike_times`` is ``(times, ptr)`` for spike-array sources.
    """
    model: str
    lo: int
    hi: int
    populations: tuple
    params: MappingProxyType
    initial: MappingProxyType
    spike_times: tuple | None = None

    @property
    def gids(self) -> np.ndarray:
        return np.concatenate([np.arange(a, b, dtype=np.int64)
                               for _, a, b, _ in self.populations])


@dataclass(frozen=True, eq=False)
class RoutingImage:
    """This rank's router and neighbours.

    ``table`` is the (compressed) routing table; ``slice_dest_ptr`` /
    ``slice_dest`` the destination ranks of each local slice read back
    through it; ``out_ranks`` the ranks this one sends to, ``in_ranks`` those
    it receives from.
    """
    table: partitioning.RoutingTable
    slice_dest_ptr: np.ndarray
    slice_dest: np.ndarray
    out_ranks: np.ndarray
    in_ranks: np.ndarray


@dataclass(frozen=True, eq=False)
class RankImage:
    """Everything rank ``rank`` needs to start (see the module docstring)."""
    rank: int
    n_ranks: int
    dt_ms: float
    seed: int
    version: int
    mapping_digest: str
    groups: tuple
    local_slices: np.ndarray        # global slice ids on this rank
    local_gids: np.ndarray          # int64[n_local], in local index order
    local_keys: np.ndarray          # uint32[n_local]
    local_slice: np.ndarray         # index into local_slices of each local neuron
    synapses: SynapseImage
    needed_slices: np.ndarray       # global ids of the slices this rank hears from
    needed_key_base: np.ndarray     # their key bases (int64, ascending) ...
    needed_first_gid: np.ndarray    # ... and first global ids: decode received keys
    #: synapse dynamics of local projections: ``(projection id, label, kind,
    #: rule)`` with kind ``"plastic"`` (a PlasticitySpec) or ``"short_term"``
    rules: tuple = ()
    #: sources generated here, next to their targets (spinn.fusion.FusedImage)
    fused: tuple = ()
    routing: RoutingImage | None = None
    #: replicated sources this rank generates for its own synapses
    #: (spinn.fusion.ReplicatedImage); their keys are neither sent nor received
    replicated: tuple = ()
    #: ids of every replicated population (decided at the first build)
    replicated_populations: tuple = ()
    #: ``(population id, seed)`` of the populations with their own seed
    #: (:func:`spinn.rng.population_seed`); the others use ``seed``
    population_seeds: tuple = ()

    @property
    def n_local(self) -> int:
        return int(self.local_gids.size)


class LocalNeurons:
    """Lookups over a rank's neurons (global id <-> local index)."""

    def __init__(self, gids: np.ndarray, ranges: np.ndarray | None = None):
        self.gids = gids
        self.n = int(gids.size)
        self._order = np.argsort(gids, kind="stable")
        self._sorted = gids[self._order]
        if ranges is None:                    # runs of consecutive ids
            ranges = runs_of(self._sorted)
        self.ranges = ranges                  # (k, 2) sorted gid ranges [lo, hi)

    def within(self, lo: int, hi: int) -> np.ndarray:
        """The ``(k, 2)`` local gid ranges clipped to ``[lo, hi)``."""
        r = self.ranges
        a = int(np.searchsorted(r[:, 1], lo, side="right"))
        b = int(np.searchsorted(r[:, 0], hi, side="left"))
        return np.stack([np.maximum(r[a:b, 0], lo), np.minimum(r[a:b, 1], hi)], axis=1)

    def index(self, gids: np.ndarray) -> np.ndarray:
        """Local index of each (local) global id."""
        return self._order[np.searchsorted(self._sorted, gids)]

    def any_in(self, lo: int, hi: int) -> bool:
        """Whether any local neuron has a global id in ``[lo, hi)``."""
        pos = int(np.searchsorted(self._sorted, lo))
        return pos < self.n and int(self._sorted[pos]) < hi

    def is_local(self, gids) -> np.ndarray:
        gids = np.asarray(gids, dtype=np.int64)
        if self.n == 0:
            return np.zeros(gids.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(self._sorted, gids), self.n - 1)
        return self._sorted[pos] == gids

    def post_indices(self, post) -> np.ndarray:
        """Sorted indices of ``post`` (a GidRange or gid array) that are local."""
        if isinstance(post, GidRange):
            parts = []
            for lo, hi in self.ranges.tolist():
                a, b = max(lo, post.start), min(hi, post.start + post.size)
                if a < b:
                    parts.append(np.arange(a - post.start, b - post.start, dtype=np.int64))
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.is_local(post)).astype(np.int64)


def _slice_first_gids(spec: NetworkSpec, mapping) -> np.ndarray:
    """First global id of every slice (ascending with the slice id)."""
    first = np.array([p.first_gid for p in spec.populations], dtype=np.int64)
    return first[mapping.slices.vertex] + mapping.slices.lo


def _build_groups(spec: NetworkSpec, mapping, mine: np.ndarray):
    sl = mapping.slices
    fused = fused_projections(spec)
    by_model: dict = {}
    for s in mine.tolist():
        pop = spec.populations[int(sl.vertex[s])]
        if pop.id in fused:           # generated next to its targets instead
            continue
        by_model.setdefault(pop.model, []).append((pop, int(sl.lo[s]), int(sl.hi[s]), s))
    groups, gids, keys, slice_of = [], [], [], []
    offset = 0
    position = {s: i for i, s in enumerate(mine.tolist())}
    # the fixed models in their order, then composed ones (PointNeuron) by name
    for name in GROUP_ORDER + tuple(sorted(set(by_model) - set(GROUP_ORDER))):
        parts = by_model.get(name)
        if not parts:
            continue
        cls = MODELS[name]
        params = {p: [] for p in cls.parameter_names()}
        initial = {v: [] for v in cls.state_names()}
        times, ptrs = [], []
        pops = []
        g_lo = offset
        for pop, lo, hi, s in parts:
            for p in params:
                params[p].append(_evaluate(pop, "parameter", p, pop.params, lo, hi))
            for v in initial:
                initial[v].append(_evaluate(pop, "initial value", v, pop.initial, lo, hi))
            check_slice(pop, {p: x[-1] for p, x in params.items()},
                        {v: x[-1] for v, x in initial.items()}, lo, spec.dt_ms)
            if pop.spike_times is not None:
                t, ptr = pop.spike_times.select(lo, hi)
                ptrs.append(ptr[:-1] + sum(x.size for x in times))
                times.append(t)
            gids.append(np.arange(pop.first_gid + lo, pop.first_gid + hi, dtype=np.int64))
            keys.append(mapping.keys.base[s] + np.arange(hi - lo, dtype=np.uint32))
            slice_of.append(np.full(hi - lo, position[s], dtype=np.int64))
            pops.append((pop.id, pop.first_gid + lo, pop.first_gid + hi, offset))
            offset += hi - lo
        spike_times = None
        if name == "SpikeSourceArray":
            all_times = np.concatenate(times) if times else np.zeros(0)
            ptr = np.append(np.concatenate(ptrs) if ptrs else np.zeros(0, np.int64),
                            all_times.size)
            spike_times = (frozen_array(all_times), frozen_array(ptr))
        groups.append(GroupImage(
            model=name, lo=g_lo, hi=offset, populations=tuple(pops),
            params=MappingProxyType({p: frozen_array(np.concatenate(v))
                                     for p, v in params.items()}),
            initial=MappingProxyType({v: frozen_array(np.concatenate(x))
                                      for v, x in initial.items()}),
            spike_times=spike_times))
    cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype, copy=False) if parts
           else np.zeros(0, dtype))
    return (tuple(groups), cat(gids, np.int64), cat(keys, np.uint32), cat(slice_of, np.int64))


def _evaluate(pop, what: str, name: str, values, lo: int, hi: int) -> np.ndarray:
    try:
        value = values[name]
    except KeyError:
        raise NetworkError(f"Population '{pop.label}' ({pop.model}): no {what} {name!r}") \
            from None
    return evaluate(value, lo, hi)


def geometry_for(spec: NetworkSpec):
    """``geometry_of(proj)`` for the connectors of ``spec``'s projections."""
    def positions_of(gids: np.ndarray) -> np.ndarray:
        out = np.empty((3, gids.size))
        owner = spec.population_of_gid(gids)
        for p in np.unique(owner).tolist():
            pop = spec.populations[p]
            if pop.positions is None:
                raise NetworkError(f"Population '{pop.label}' has no positions")
            mine = owner == p
            out[:, mine] = pop.positions.take(gids[mine] - pop.first_gid)
        return out

    def geometry_of(proj) -> Geometry:
        def positions(side, indices):
            gids = (proj.pre if side == "pre" else proj.post)[indices]
            return positions_of(np.asarray(gids, dtype=np.int64))
        return Geometry(proj.label, proj.pre, proj.post, positions=positions, space=proj.space)
    return geometry_of


def local_neurons(spec: NetworkSpec, mapping, local_slices: np.ndarray,
                  gids: np.ndarray) -> LocalNeurons:
    """Lookups over the neurons of ``local_slices`` (global ids ``gids``, in
    local index order)."""
    first = _slice_first_gids(spec, mapping)
    fused = fused_projections(spec)
    keep = np.array([int(mapping.slices.vertex[s]) not in fused for s in local_slices.tolist()],
                    dtype=bool)
    mine = local_slices[keep] if local_slices.size else local_slices
    sizes = mapping.slices.hi - mapping.slices.lo
    ranges = np.stack([first[mine], first[mine] + sizes[mine]], axis=1) if mine.size else \
        np.zeros((0, 2), dtype=np.int64)
    ranges = ranges[np.argsort(ranges[:, 0])] if ranges.size else ranges
    return LocalNeurons(gids, ranges)


def build_rank_image(spec: NetworkSpec, mapping, rank: int,
                     replicated: frozenset | None = None) -> RankImage:
    """Rank ``rank``'s neurons and incoming synapses (routing still to come:
    see :func:`with_routing`). ``replicated``: the replicated source
    populations (default: :func:`~spinn.fusion.replicated_populations`)."""
    if replicated is None:
        replicated = replicated_populations(spec)
    mine = mapping.placement.slices_on(rank)
    groups, gids, keys, slice_of = _build_groups(spec, mapping, mine)
    first = _slice_first_gids(spec, mapping)
    neurons = local_neurons(spec, mapping, mine, gids)
    geometry_of = geometry_for(spec)
    synapses = build_synapses(spec.projections, neurons, spec.dt_ms, geometry_of, spec)
    needed = np.unique(np.searchsorted(first, synapses.source_gid, side="right") - 1)
    return RankImage(
        rank=rank, n_ranks=mapping.placement.n_ranks, dt_ms=spec.dt_ms, seed=spec.seed,
        version=spec.version, mapping_digest=mapping.digest(), groups=groups,
        local_slices=frozen_array(mine), local_gids=frozen_array(gids),
        local_keys=frozen_array(keys), local_slice=frozen_array(slice_of),
        synapses=synapses, needed_slices=frozen_array(needed.astype(np.int64)),
        needed_key_base=frozen_array(mapping.keys.base[needed].astype(np.int64)),
        needed_first_gid=frozen_array(first[needed]), rules=synapse_rules(spec, synapses),
        fused=build_fused(spec, neurons, geometry_of),
        replicated=build_replicated(spec, synapses.source_gid, replicated),
        replicated_populations=tuple(sorted(replicated)),
        population_seeds=population_seeds(spec))


def population_seeds(spec: NetworkSpec) -> tuple:
    """``(population id, stream seed)`` of every population with its own seed."""
    from .rng import population_seed
    return tuple((p.id, population_seed(p.seed, p.id)) for p in spec.populations
                 if p.seed is not None)


def synapse_rules(spec: NetworkSpec, synapses: SynapseImage) -> tuple:
    """``(projection id, label, kind, rule)`` of the local projections with dynamics."""
    rules = []
    for proj in spec.projections:
        if synapses.part(proj.id) is None:
            continue
        if proj.plasticity is not None:
            rules.append((proj.id, proj.label, "plastic", proj.plasticity))
        elif proj.short_term is not None:
            # (its per-synapse parameters are in the synapse image)
            rules.append((proj.id, proj.label, "short_term", proj.short_term.for_rank()))
    return tuple(rules)


def routed_needed(image: RankImage, mapping) -> np.ndarray:
    """The needed slices whose keys travel: all but the replicated sources'."""
    needed = image.needed_slices
    if not image.replicated_populations or needed.size == 0:
        return needed
    vertex = mapping.slices.vertex[needed]
    return needed[~np.isin(vertex, np.asarray(image.replicated_populations))]


def footprint_requests(image: RankImage, mapping) -> list:
    """What ``image``'s rank asks of every rank: ``requests[r]`` = the ids of
    the slices on rank ``r`` whose spikes it needs (int64, ascending)."""
    needed = routed_needed(image, mapping)
    owner = mapping.placement.rank[needed]
    return [needed[owner == r] for r in range(mapping.placement.n_ranks)]


def with_routing(image: RankImage, mapping, requested: list) -> RankImage:
    """``image`` with its routing: ``requested[q]`` are the slice ids rank ``q``
    asked this rank for (the answer to :func:`footprint_requests`)."""
    local = image.local_slices
    pairs = []
    for q, slices in enumerate(requested):
        slices = np.asarray(slices, dtype=np.int64)
        if slices.size:
            where = np.searchsorted(local, slices)
            if (where >= local.size).any() or (local[np.minimum(where, local.size - 1)]
                                              != slices).any():
                raise NetworkError(f"rank {q} asked rank {image.rank} for slices it does not hold")
            pairs.append(np.stack([where, np.full(slices.size, q)], axis=1))
    pairs = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    dest_ptr = np.searchsorted(pairs[:, 0], np.arange(local.size + 1)).astype(np.int64)
    dest = pairs[:, 1].astype(np.int64)
    table = partitioning.footprint_table(image.rank, mapping.keys, local, dest_ptr, dest)
    partitioning.check_footprint_table(table, mapping.keys, local, dest_ptr, dest)
    ptr, routed = table.route(mapping.keys.base[local])
    routing = RoutingImage(
        table=table, slice_dest_ptr=frozen_array(ptr), slice_dest=frozen_array(routed),
        out_ranks=frozen_array(np.unique(dest)),
        in_ranks=frozen_array(np.unique(mapping.placement.rank[routed_needed(image, mapping)])))
    return replace(image, routing=routing)
