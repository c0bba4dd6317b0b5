"""Sources fused into their targets (as sPyNNaker fuses Poisson sources).

A spike source whose only projection is a static one-to-one projection from
the whole source population (onto any cells: a population, a view, an
assembly) — the per-neuron Poisson background of Brunel's network or of the
cortical microcircuit — needs no keys, no exchange and no synaptic
rows: each rank generates the source neurons of its own targets (a source's
neurons are independent, :attr:`~spinn.models.sources.SpikeSource.independent`)
and adds ``weight × multiplicity`` straight into the ring buffer at the
synapse's delay. The same streams draw the same spikes, and the adds join the
received rows in order of source id, so results are bitwise those of the
routed path (``setup(fuse_sources=False)``); only the work moves.

The source population stays in the mapping (its slices hold nothing); the
rank of each target records the source neuron's spikes and counts them.

Sources with other connectors may be *replicated* instead
(:func:`replicated_populations`): every rank generates the source neurons it
has synapses from and feeds their keys straight into its own delivery, so
no key of theirs is routed or exchanged. The source's own rank still
generates it whole, to record and count its spikes (it sends nothing).
Generating a source neuron costs ``update_seconds`` per step on each rank
that needs it; routing it costs a key per spike and destination
(``KEY_SECONDS``): a source is replicated when its expected keys per step
cost more than generating it (sources of some kHz; a 10 Hz source is
cheaper to route). The decision is made once, at the first build.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .connectors import OneToOne, Streams, block_range, blocks_of
from .costs import KEY_SECONDS, update_seconds
from .errors import NetworkError
from .models import MODELS
from .network import GidRange, NetworkSpec
from .synapses import block_values, check_synapses, delay_steps
from .validation import check_slice
from .values import RandomValue, frozen_array, is_homogeneous, take

__all__ = ["fused_projections", "FusedImage", "build_fused", "replicated_populations",
           "ReplicatedImage", "build_replicated", "source_rate"]


def fused_projections(spec: NetworkSpec) -> dict:
    """``{source population id: projection id}`` of the sources to fuse."""
    if not getattr(spec, "fuse_sources", True):
        return {}
    outgoing: dict = {}
    for proj in spec.projections:
        for pop in proj.pre_populations:
            outgoing.setdefault(pop, []).append(proj)
    fused = {}
    for pop in spec.populations:
        cls = MODELS.get(pop.model)
        projections = outgoing.get(pop.id, [])
        if not getattr(cls, "independent", False) or len(projections) != 1:
            continue
        proj = projections[0]
        if (isinstance(proj.connector, OneToOne) and proj.plasticity is None
                and proj.short_term is None and _whole(proj.pre, pop)):
            fused[pop.id] = proj.id
    return fused


def source_rate(population, default: float = 10.0) -> float:
    """A source's own ``rate`` (Hz) if it is a number, an array or a random
    distribution (their mean), else ``default``."""
    rate = population.params.get("rate") if population.model.startswith("SpikeSource") else None
    if is_homogeneous(rate):
        return float(rate)
    if isinstance(rate, np.ndarray):
        return float(np.mean(rate))
    if isinstance(rate, RandomValue):
        return rate.mean()
    return default


def replicated_populations(spec: NetworkSpec) -> frozenset:
    """Ids of the source populations to generate on every rank that needs them
    (see the module docstring): independent sources, not fused, whose
    projections are all static, and whose keys would cost more than
    generating them again (``rate · dt · KEY_SECONDS >= update_seconds``)."""
    if not getattr(spec, "fuse_sources", True):
        return frozenset()
    fused = fused_projections(spec)
    outgoing: dict = {}
    for proj in spec.projections:
        for pop in proj.pre_populations:
            outgoing.setdefault(pop, []).append(proj)
    chosen = []
    for pop in spec.populations:
        cls = MODELS.get(pop.model)
        projections = outgoing.get(pop.id, [])
        if (not getattr(cls, "independent", False) or not getattr(cls, "stateless", False)
                or pop.id in fused or not projections
                or any(p.plasticity is not None or p.short_term is not None
                       for p in projections)):
            continue
        keys_per_step = source_rate(pop, 0.0) * spec.dt_ms / 1000.0
        if keys_per_step * KEY_SECONDS >= update_seconds(pop.model):
            chosen.append(pop.id)
    return frozenset(chosen)


def _source_neurons(pop, index: np.ndarray, dt: float):
    """Parameters (checked) and spike times of source neurons ``index`` of
    ``pop``, frozen: what a fused or replicated copy of them needs."""
    params = {name: frozen_array(take(pop.params[name], index))
              for name in MODELS[pop.model].parameter_names()}
    check_slice(pop, params, {}, index, dt)
    spike_times = None
    if pop.spike_times is not None:
        times, ptr = pop.spike_times.take(index)
        spike_times = (frozen_array(times), frozen_array(ptr))
    return params, spike_times


@dataclass(frozen=True, eq=False)
class ReplicatedImage:
    """The neurons of a replicated source population this rank has synapses
    from: ``index`` (population indices, ascending), their ``params`` and
    ``spike_times`` (as in a GroupImage)."""
    population: int
    model: str
    first_gid: int
    index: np.ndarray
    params: MappingProxyType
    spike_times: tuple | None = None

    @property
    def gids(self) -> np.ndarray:
        return self.first_gid + self.index


def build_replicated(spec: NetworkSpec, source_gid: np.ndarray, replicated) -> tuple:
    """The replicated sources of one rank, whose synapses come from the
    sorted global ids ``source_gid``."""
    images = []
    for pop_id in sorted(replicated):
        pop = spec.populations[pop_id]
        a, z = np.searchsorted(source_gid, [pop.first_gid, pop.first_gid + pop.size])
        if z == a:
            continue
        index = np.asarray(source_gid[a:z], dtype=np.int64) - pop.first_gid
        params, spike_times = _source_neurons(pop, index, spec.dt_ms)
        images.append(ReplicatedImage(population=pop.id, model=pop.model,
                                      first_gid=pop.first_gid, index=frozen_array(index),
                                      params=MappingProxyType(params), spike_times=spike_times))
    return tuple(images)


def _whole(gids, pop) -> bool:
    return (isinstance(gids, GidRange) and gids.start == pop.first_gid
            and gids.size == pop.size)


@dataclass(frozen=True, eq=False)
class FusedImage:
    """The fused source neurons of one projection on one rank.

    ``index`` are the source population (= projection pre and post)
    indices whose targets are local, ascending; ``target`` their targets'
    local indices;
    ``weight`` and ``delay`` (steps) the synapses'; ``params`` and
    ``spike_times`` the source neurons' (as in a GroupImage).
    """
    projection: int
    population: int
    model: str
    first_gid: int
    index: np.ndarray
    target: np.ndarray
    receptor: int
    weight: np.ndarray
    delay: np.ndarray
    params: MappingProxyType
    spike_times: tuple | None = None

    @property
    def gids(self) -> np.ndarray:
        return self.first_gid + self.index


def _synapse_values(proj, geometry, local_post: np.ndarray, dt: float):
    """Weights and delays (ms) of the one-to-one synapses onto ``local_post``,
    generated per block exactly as the routed path does."""
    streams = Streams(proj.seed, proj.id)
    w = np.empty(local_post.size)
    d = np.empty(local_post.size)
    for b in blocks_of(local_post).tolist():
        lo, hi = block_range(b, proj.n_post)
        block = proj.connector.generate(geometry, lo, hi, streams)
        a, z = np.searchsorted(local_post, [lo, hi])
        mine = local_post[a:z] - lo                 # one synapse per post, in post order
        w[a:z] = block_values(proj.weight, geometry, proj.connector, block, b)[mine]
        d[a:z] = block_values(proj.delay, geometry, proj.connector, block, b)[mine]
    check_synapses(proj, w, d, dt)
    return w, d


def _update_values(update, geometry, index: np.ndarray, n_post: int, label: str):
    """Values of a ``Projection.set`` update for one-to-one synapses ``index``."""
    value = update.value
    if is_homogeneous(value):
        return np.full(index.size, float(value))
    if isinstance(value, np.ndarray):
        values = np.asarray(value[index, index], dtype=np.float64)
        if np.isnan(values).any():
            raise NetworkError(f"Projection '{label}': the {update.attribute} array has NaN "
                               "where a connection exists")
        return values
    if isinstance(value, RandomValue):          # drawn per block, one synapse per post
        out = np.empty(index.size)
        for b in blocks_of(index).tolist():
            lo, hi = block_range(b, n_post)
            a, z = np.searchsorted(index, [lo, hi])
            out[a:z] = value.draw_block(b, hi - lo)[index[a:z] - lo]
        return out
    return np.asarray(value.evaluate(geometry, index, index), dtype=np.float64)


def build_fused(spec: NetworkSpec, neurons, geometry_of) -> tuple:
    """The fused sources of one rank (see the module docstring)."""
    images = []
    for pop_id, proj_id in sorted(fused_projections(spec).items()):
        pop, proj = spec.populations[pop_id], spec.projections[proj_id]
        index = neurons.post_indices(proj.post)
        if index.size == 0:
            continue
        geometry = geometry_of(proj)
        w, d_ms = _synapse_values(proj, geometry, index, spec.dt_ms)
        for update in proj.updates:
            values = _update_values(update, geometry, index, proj.n_post, proj.label)
            if update.attribute == "weight":
                check_synapses(proj, values, np.zeros(0), spec.dt_ms)
                w = values
            else:
                check_synapses(proj, np.zeros(0), values, spec.dt_ms)
                d_ms = values
        params, spike_times = _source_neurons(pop, index, spec.dt_ms)
        target = neurons.index(np.asarray(proj.post[index], dtype=np.int64))
        images.append(FusedImage(
            projection=proj.id, population=pop.id, model=pop.model, first_gid=pop.first_gid,
            index=frozen_array(index), target=frozen_array(target), receptor=proj.receptor,
            weight=frozen_array(w), delay=frozen_array(delay_steps(d_ms, spec.dt_ms)),
            params=MappingProxyType(params), spike_times=spike_times))
    return tuple(images)
