"""One rank's dynamic state and its timestep loop.

A :class:`RankRuntime` starts from a frozen :class:`~spinn.build.RankImage`
and holds only what changes while the network runs: the cell groups' state
(one vectorised step per cell type), one ring buffer ``[delay slot,
receptor, local neuron]``, plastic weights and traces, short-term state,
the recording buffers. Every dynamic array is reachable by name
(:meth:`RankRuntime.state_arrays`). Static synapses are read from the image.

Per step: deliver the ring slot, update, emit keys, route them through the
rank's routing table to its out-neighbours; then, after the exchange,
decode received keys (in canonical order, by source gid) and scatter their
synaptic rows into the ring buffer at ``t + delay``. ``reset()`` is a new
runtime from the same image: nothing is regenerated.
"""
from __future__ import annotations

import copy
from time import perf_counter as _clock

import numpy as np

from . import kernels
from .build import LocalNeurons, RankImage
from .csr import ranges, row_entries
from .electrodes import BoundSource
from .errors import NetworkError
from .models import MODELS, dynamic_state
from .plasticity import RankPlasticity
from .recording import RankRecorder
from .shortterm import RankShortTerm

__all__ = ["RankRuntime", "CellGroupSlot"]

_STATIC, _PLASTIC, _SHORT_TERM = 0, 1, 2
_EMPTY = np.zeros(0)
_EMPTY_INDEX = np.zeros(0, dtype=np.uint8)
_EMPTY_COUNTS = np.zeros(0, dtype=np.int64)


class CellGroupSlot:
    """A cell group and where it sits in the rank's local index space."""

    def __init__(self, image, group):
        self.image = image
        self.model_name = image.model
        self.group = group
        self.lo, self.hi = image.lo, image.hi
        self.populations = image.populations   # (pop id, gid lo, gid hi, local lo)


def group_seed(image_seed: int, population_seeds: tuple, populations) -> object:
    """The seed a cell group's model gets: the network seed, or, when one of
    its populations has its own seed, one seed per neuron.
    ``populations`` are ``(population id, first gid, end gid)`` in the
    group's neuron order."""
    own = dict(population_seeds)
    if not own or not any(p in own for p, _, _ in populations):
        return image_seed
    return np.concatenate([np.full(b - a, own.get(p, image_seed), dtype=np.uint64)
                           for p, a, b in populations])


def _make_group(image, dt: float, seed):
    cls = MODELS[image.model]
    extra = {"spike_times": image.spike_times} if image.spike_times is not None else {}
    initial = {name: np.array(values) for name, values in image.initial.items()}
    params = {name: np.asarray(values) for name, values in image.params.items()}
    return cls(image.gids, params, initial, dt, seed, **extra)


def _source_weights(syn) -> np.ndarray | None:
    """The weight of each source when every one of its synapses here has the
    same weight (as in most models: one weight per projection), else None."""
    if syn.n_synapses == 0:
        return None
    starts = syn.row_ptr[syn.source_rows[:-1]]
    values = syn.weight_index if syn.weight is None else syn.weight
    low = np.minimum.reduceat(values, starts)
    if not np.array_equal(low, np.maximum.reduceat(values, starts)):
        return None
    return syn.weight_table[low] if syn.weight is None else low.astype(np.float64)


class FusedInput:
    """Source neurons generated next to their one-to-one targets (:mod:`spinn.fusion`)."""

    def __init__(self, image, dt: float, seed: int, stride: int, n_local: int):
        cls = MODELS[image.model]
        extra = {"spike_times": image.spike_times} if image.spike_times is not None else {}
        self.group = cls(image.gids, {n: np.asarray(v) for n, v in image.params.items()}, {},
                         dt, seed, **extra)
        self.first_gid = image.first_gid
        self.gids = image.gids
        self.record = np.zeros(image.index.size, dtype=bool)
        self.stride, self.n_local = stride, n_local
        self.use(image)

    def use(self, image) -> None:
        """Synapses (and parameters) of a newer image; the group's state stays."""
        self.image = image
        offset = image.delay * self.stride + image.receptor * self.n_local + image.target
        self.offset = offset.astype(np.int32 if offset.max(initial=0) < 2**31 else np.int64)
        self.weight = image.weight


class ReplicatedInput:
    """A replicated source's neurons that this rank has synapses from
    (:func:`spinn.fusion.replicated_populations`): generated here, their keys
    go straight into this rank's delivery."""

    def __init__(self, image, dt: float, seed: int, source_key: np.ndarray,
                 source_gid: np.ndarray):
        cls = MODELS[image.model]
        extra = {"spike_times": image.spike_times} if image.spike_times is not None else {}
        self.group = cls(image.gids, {n: np.asarray(v) for n, v in image.params.items()}, {},
                         dt, seed, **extra)
        self.use(image, source_key, source_gid)

    def use(self, image, source_key, source_gid) -> None:
        self.image = image
        self.keys = source_key[np.searchsorted(source_gid, image.gids)].astype(np.uint32)


class RankRuntime:
    """Everything rank ``image.rank`` simulates, started from its image."""

    def __init__(self, image: RankImage, step: int = 0):
        if image.routing is None:
            raise ValueError("a runtime needs an image with routing (build.with_routing)")
        self.image = image
        self.rank, self.n_ranks, self.dt = image.rank, image.n_ranks, image.dt_ms
        self.n_local = image.n_local
        self.neurons = LocalNeurons(np.asarray(image.local_gids), None)
        seeds = image.population_seeds
        self.slots = [CellGroupSlot(g, _make_group(g, self.dt, group_seed(
            image.seed, seeds, [p[:3] for p in g.populations]))) for g in image.groups]
        syn = image.synapses
        self.n_receptors = syn.n_receptors       # rows of the ring's receptor axis
        self.stride = self.n_receptors * self.n_local
        self.fused = [FusedInput(f, self.dt, group_seed(image.seed, seeds, [(
            f.population, 0, f.index.size)]), self.stride, self.n_local) for f in image.fused]
        self._fused_events: dict = {}      # step -> [(first gid, fused input, neurons, counts)]
        self.n_slots = max([syn.n_slots] + [int(f.delay.max()) + 1 for f in image.fused
                                            if f.delay.size])
        self.ring = np.zeros(self.n_slots * self.stride)
        self._build_rules()
        self._build_routing()
        self._build_decoding()
        self.replicated = [ReplicatedInput(r, self.dt, group_seed(image.seed, seeds, [(
            r.population, 0, r.index.size)]), self.source_key, self.source_gid)
            for r in image.replicated]
        self._replicated_keys: dict = {}   # step -> keys of the replicated sources' spikes
        self.recorder = RankRecorder(self.slots, self.n_local, self.neurons.index)
        self._compiled = kernels.compiled
        self.current_step = step
        self.n_spikes = 0
        self.n_source_spikes = 0
        self.n_keys_received = 0        # keys that arrived
        self.n_keys_used = 0            # ... and found synapses here
        self.n_events = 0               # synaptic events delivered (fused ones included)
        self.keys_sent = np.zeros(self.out_ranks.size, dtype=np.int64)  # per out_ranks entry
        self.max_input = 0.0            # largest |summed input| of a neuron in one step
        self.live = []                  # spinn.livewire.LiveOutput senders
        self.route_seconds = 0.0        # parts of the update phase (provenance)
        self.record_seconds = 0.0
        self.bound_sources = []
        self._injected_groups = []
        self._warm_kernels()

    # -- set-up --------------------------------------------------------------------
    def _warm_kernels(self) -> None:
        """Load the compiled kernels this rank uses (numba's first call reads its
        cache and types the arguments: ~0.1 s) now, while building, not in the
        first step: each cell group steps a copy of itself, the delivery kernels
        run on no synapses."""
        compiled = self._compiled
        if compiled is None:
            return
        for group in ([slot.group for slot in self.slots] + [f.group for f in self.fused]
                      + [r.group for r in self.replicated]):
            if getattr(group, "_compiled", None) is not None:
                n = int(getattr(group, "n", 0) or 0)
                copy.deepcopy(group, {id(group._compiled): group._compiled}).step(
                    0, np.zeros(n), np.zeros(n))
        syn = self.image.synapses
        empty = np.zeros(0, dtype=np.int64)
        if self.source_weight is not None and self.source_syn_ptr is not None:
            ptr = self.source_syn_ptr[:0]
            compiled.add_group_weights(self.ring, syn.offset, 0, ptr, ptr - ptr, _EMPTY)
        rows = syn.row_ptr[:0]
        by_table = syn.weight is None
        compiled.add_synapses(self.ring, syn.offset, 0, rows, rows - rows, _EMPTY,
                              _EMPTY if by_table else syn.weight,
                              syn.weight_index if by_table else _EMPTY_INDEX,
                              syn.weight_table if by_table else _EMPTY)
        for fused in self.fused:
            compiled.add_indexed(self.ring, fused.offset, fused.weight, 0, empty,
                                 _EMPTY_COUNTS)
        counts = np.empty(self.out_ranks.size, dtype=np.int64)
        compiled.route(empty, self.image.local_keys, self.image.local_slice, self._slice_rank,
                       self.slice_dest_ptr, self.slice_dest_pos, counts,
                       np.empty(0, dtype=np.uint32))
        if self.source_syn_ptr is not None and not self.all_plastic:
            compiled.receive_sources(
                self.ring, np.zeros(0, np.uint32), self.source_key, self.source_syn_ptr,
                _EMPTY if self.source_weight is None else self.source_weight, syn.offset, 0,
                _EMPTY if by_table else syn.weight,
                syn.weight_index if by_table else _EMPTY_INDEX,
                syn.weight_table if by_table else _EMPTY)

    def _build_rules(self):
        syn = self.image.synapses
        plastic = {pid: (rule, label) for pid, label, kind, rule in self.image.rules
                   if kind == "plastic"}
        short = {pid: (rule, label) for pid, label, kind, rule in self.image.rules
                 if kind == "short_term"}
        self.plasticity = RankPlasticity(syn, plastic, self.n_local, self.dt) if plastic else None
        self.short_term = (RankShortTerm(syn, short, self.dt, self.image.local_gids)
                           if short else None)
        self.row_kind = None
        if plastic or short:
            kind = np.zeros(syn.row_projection.size, dtype=np.int8)
            for pid in plastic:
                kind[syn.row_projection == pid] = _PLASTIC
            for pid in short:
                kind[syn.row_projection == pid] = _SHORT_TERM
            self.row_kind = kind

    def _build_routing(self):
        r = self.image.routing
        self.out_ranks = np.asarray(r.out_ranks)
        self.slice_dest_ptr = np.asarray(r.slice_dest_ptr)
        # destinations as positions in out_ranks (what the exchange expects)
        self.slice_dest_pos = np.searchsorted(self.out_ranks, r.slice_dest)
        counts = np.diff(self.slice_dest_ptr)
        # one destination for every slice that sends at all: no sorting per step
        self.single_dest = (self.out_ranks.size == 1
                            and bool(np.all((counts == 1) | (counts == 0))))
        self.slice_sends = counts > 0
        self._max_dests = int(counts.max()) if counts.size else 0
        keys = np.asarray(self.image.local_keys)
        # the local slices' ranks in key order (empty: local order is key order)
        self._slice_rank = np.zeros(0, dtype=np.int64)
        if keys.size and not bool(np.all(keys[1:] > keys[:-1])):
            first = np.full(self.image.local_slices.size, np.iinfo(np.int64).max)
            np.minimum.at(first, np.asarray(self.image.local_slice), keys.astype(np.int64))
            self._slice_rank = np.argsort(np.argsort(first, kind="stable")).astype(np.int64)
        self._no_send = (np.zeros(self.out_ranks.size, dtype=np.int64),
                         np.zeros(0, dtype=np.uint32))

    def _build_decoding(self):
        """The key of every source with synapses here (ascending, as keys grow
        with global ids), and, where all rows are static, each source's
        synapses as one contiguous range (no per-row expansion per step)."""
        syn = self.image.synapses
        base, first = self.image.needed_key_base, self.image.needed_first_gid
        s = np.searchsorted(first, syn.source_gid, side="right") - 1
        # a sentinel above every key: searchsorted always lands on an entry
        self.source_key = np.append(base[s] + (syn.source_gid - first[s]), 1 << 40)
        self.source_gid = syn.source_gid
        # every synapse plastic, numbered as in the CSR: plastic index = CSR position
        self.all_plastic = (self.plasticity is not None and self.short_term is None
                            and self.plasticity.space.n == syn.n_synapses
                            and bool(np.all(self.plasticity.space.csr
                                            == np.arange(syn.n_synapses))))
        static = self.row_kind is None
        self.source_syn_ptr = (syn.row_ptr[syn.source_rows] if static or self.all_plastic
                               else None)
        self.source_weight = _source_weights(syn) if static else None

    def state_arrays(self) -> dict:
        """Every dynamic array of this rank by name (the step is ``current_step``)."""
        out = {"ring": self.ring}
        for i, slot in enumerate(self.slots):
            for name, array in dynamic_state(slot.group).items():
                out[f"group/{i}:{slot.model_name}/{name}"] = array
        for i, fused in enumerate(self.fused):
            for name, array in dynamic_state(fused.group).items():
                out[f"fused/{i}:{fused.image.model}/{name}"] = array
        for i, rep in enumerate(self.replicated):
            for name, array in dynamic_state(rep.group).items():
                out[f"replicated/{i}:{rep.image.model}/{name}"] = array
        if self.plasticity is not None:
            out.update({f"plastic/{k}": v for k, v in self.plasticity.state_arrays().items()})
        if self.short_term is not None:
            out.update({f"short_term/{k}": v
                        for k, v in self.short_term.state_arrays().items()})
        return out

    # -- recording and current sources -------------------------------------------------
    def configure_recording(self, populations, stamp: int) -> None:
        self.recorder.configure(populations, stamp, self.neurons)
        for fused in self.fused:
            spec = populations[fused.image.population].record.get("spikes")
            fused.record[:] = False if spec is None else spec.contains(fused.image.index)

    def bind_current_sources(self, sources) -> None:
        """Attach the current sources to this rank's targets (before each run)."""
        self.bound_sources = []
        groups = []
        for src in sources:
            gids = src.targets[self.neurons.is_local(src.targets)]
            if gids.size == 0:
                continue
            local = self.neurons.index(gids)
            for slot in self.slots:
                mine = (local >= slot.lo) & (local < slot.hi)
                if mine.any():
                    self.bound_sources.append(
                        BoundSource(src, slot.group, local[mine] - slot.lo, gids[mine]))
                    if slot.group not in groups:
                        groups.append(slot.group)
        for g in self._injected_groups:
            g.i_inj[:] = 0.0
            if hasattr(g, "injected"):
                g.injected = False
        for g in groups:
            if hasattr(g, "injected"):
                g.injected = True
        self._injected_groups = groups

    def inject(self, k: int, pop_id: int, gids: np.ndarray) -> None:
        """Neurons ``gids`` (global ids, ascending) of injector population
        ``pop_id`` spike in step ``k`` (:mod:`spinn.live`); this rank takes
        those it holds."""
        for slot in self.slots:
            if slot.model_name != "SpikeInjector":
                continue
            for pid, lo, hi, local_lo in slot.populations:
                if pid != pop_id:
                    continue
                a, b = np.searchsorted(gids, (lo, hi))
                if b > a:
                    slot.group.inject(k, gids[a:b] - lo + (local_lo - slot.lo))

    # -- the step ------------------------------------------------------------------------
    def advance(self, k: int):
        """Deliver, update, record and emit for step ``k``.

        Returns ``(counts, keys)``: the number of keys for each of the rank's
        out-neighbours and the keys grouped by neighbour, each group in
        ascending key order.
        """
        self.current_step = k
        stride = self.stride
        base = (k % self.n_slots) * stride
        if self.plasticity is not None:
            arrived = self.plasticity.begin_step(k)
            if arrived.size:       # deferred (axonal) pre events: PSP after the rest of d
                self._scatter_plastic(k, arrived,
                                      shift=-self.plasticity.delay_seen_pre[arrived])
        slot_input = self.ring[base:base + stride].reshape(self.n_receptors, self.n_local)
        if self._injected_groups:
            for group in self._injected_groups:
                group.i_inj[:] = 0.0
            for bound in self.bound_sources:
                bound.apply(k, self.dt)
        fired_parts = []
        for g in self.slots:
            n_rows = getattr(g.group, "n_receptors", 0)
            if n_rows:          # a composed neuron: one input row per receptor type
                idx, counts = g.group.step(k, *slot_input[:n_rows, g.lo:g.hi])
            else:
                idx, counts = g.group.step(k, slot_input[0, g.lo:g.hi],
                                           slot_input[1, g.lo:g.hi])
            if idx.size:
                if g.group.is_source:
                    self.n_source_spikes += idx.size if counts is None else int(counts.sum())
                idx = idx + g.lo
                fired_parts.append(idx if counts is None else np.repeat(idx, counts))
        if self.n_local:        # the largest input a neuron got (saturation: provenance)
            top = max(slot_input.max(), -slot_input.min())
            if top > self.max_input:
                self.max_input = float(top)
        slot_input[:] = 0.0
        stamp = k + 1
        t0 = _clock()
        self.recorder.sample(stamp)
        self.record_seconds += _clock() - t0
        if self.fused:
            self._generate_fused(k, base, stamp)
        if self.replicated:
            self._generate_replicated(k)
        if not fired_parts:
            return self._no_send
        fired = np.sort(np.concatenate(fired_parts)) if len(fired_parts) > 1 else fired_parts[0]
        self.n_spikes += fired.size
        if self.live:                   # spinn.live: this rank's own spikes, as they happen
            gids = self.image.local_gids[fired]
            for out in self.live:
                out.send(stamp, self.dt, gids)
        if self.plasticity is not None:
            self.plasticity.post_spikes(k, fired)
        t0 = _clock()
        rec = fired[self.recorder.record_spikes[fired]]
        if rec.size:
            self.recorder.spikes.append(stamp, self.image.local_gids[rec])
        t1 = _clock()
        sent = self._route(fired)
        self.keys_sent += sent[0]
        self.route_seconds += _clock() - t1
        self.record_seconds += t1 - t0
        return sent

    def _generate_fused(self, k: int, base: int, stamp: int) -> None:
        """Spikes of the fused sources in step ``k``: ``weight × multiplicity`` at
        each target's ring position, added with step ``k``'s keys (receive)."""
        events = []
        for fused in self.fused:
            idx, counts = fused.group.step(k, None, None)
            if idx.size == 0:
                continue
            n = idx.size if counts is None else int(counts.sum())
            self.n_spikes += n
            self.n_source_spikes += n
            events.append((fused.first_gid, fused, idx.copy(),
                           None if counts is None else counts.copy()))
            rec = fused.record[idx]
            if rec.any():
                gids = fused.gids[idx[rec]]
                self.recorder.spikes.append(
                    stamp, gids if counts is None else np.repeat(gids, counts[rec]))
        if events:
            self._fused_events[k] = events

    def _generate_replicated(self, k: int) -> None:
        """The keys of the replicated sources' spikes of step ``k`` (their own
        ranks record and count them)."""
        parts = []
        for rep in self.replicated:
            idx, counts = rep.group.step(k, None, None)
            if idx.size:
                keys = rep.keys[idx]
                parts.append(keys if counts is None else np.repeat(keys, counts))
        if parts:
            self._replicated_keys[k] = np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _add_fused(self, k: int, fused, idx, counts) -> None:
        """The adds of one fused source's spikes of step ``k`` (neurons ``idx``,
        multiplicities ``counts`` or None)."""
        base = (k % self.n_slots) * self.stride
        self.n_events += idx.size if counts is None else int(counts.sum())
        if self._compiled is not None:
            self._compiled.add_indexed(self.ring, fused.offset, fused.weight, base, idx,
                                       _EMPTY_COUNTS if counts is None else counts)
            return
        weight = fused.weight[idx] if counts is None else fused.weight[idx] * counts
        self._add(self._positions(k, fused.offset[idx]), weight)

    def _route(self, fired: np.ndarray):
        """Keys of ``fired`` grouped by destination (out-neighbour position)."""
        if self._compiled is not None:
            counts = np.empty(self.out_ranks.size, dtype=np.int64)
            out = np.empty(fired.size * self._max_dests, dtype=np.uint32)
            total = self._compiled.route(fired, self.image.local_keys, self.image.local_slice,
                                         self._slice_rank, self.slice_dest_ptr,
                                         self.slice_dest_pos, counts, out)
            return counts, out[:total]
        keys = self.image.local_keys[fired]
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        slices = self.image.local_slice[fired[order]]
        if self.single_dest:
            keys = keys[self.slice_sends[slices]]
            return np.array([keys.size], dtype=np.int64), keys
        starts = self.slice_dest_ptr[slices]
        counts = self.slice_dest_ptr[slices + 1] - starts
        dest = self.slice_dest_pos[ranges(starts, counts)]
        keys = np.repeat(keys, counts)
        by_dest = np.argsort(dest, kind="stable")
        return (np.bincount(dest, minlength=self.out_ranks.size).astype(np.int64),
                keys[by_dest])

    def receive(self, k: int, keys: np.ndarray) -> None:
        """Scatter the rows of the keys emitted in step ``k`` (and the fused
        sources' spikes of step ``k``) into the ring buffer.

        Canonical order, the same on any rank count: by source gid. A source
        that spiked ``m`` times in the step adds ``m × weight`` once per
        static synapse (NEST's multiplicity); plastic and short-term synapses
        see each spike.
        """
        fused = self._fused_events.pop(k, None)
        source_key = self.source_key
        if keys.size:
            self.n_keys_received += keys.size
        if self.replicated:
            local = self._replicated_keys.pop(k, None)
            if local is not None:
                keys = np.concatenate((keys, local)) if keys.size else local
        if keys.size == 0 or source_key.size == 1:      # only the sentinel: no rows here
            for event in fused or ():
                self._add_fused(k, *event[1:])
            return
        if (self._compiled is not None and not fused and self.source_syn_ptr is not None
                and not self.all_plastic):              # all static, one call
            syn = self.image.synapses
            by_table = syn.weight is None
            used, events = self._compiled.receive_sources(
                self.ring, keys, source_key, self.source_syn_ptr,
                _EMPTY if self.source_weight is None else self.source_weight, syn.offset,
                (k % self.n_slots) * self.stride,
                _EMPTY if by_table else syn.weight,
                syn.weight_index if by_table else _EMPTY_INDEX,
                syn.weight_table if by_table else _EMPTY)
            self.n_keys_used += used
            self.n_events += events
            return
        keys = np.sort(keys, kind="stable")             # canonical: by source gid
        counts = None
        if keys.size > 1 and np.any(keys[1:] == keys[:-1]):
            first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            counts = np.diff(np.r_[first, keys.size])
            keys = keys[first]
        src = np.searchsorted(source_key, keys)
        found = source_key[src] == keys
        src = src[found]
        if counts is not None:
            counts = counts[found]
            self.n_keys_used += int(counts.sum())
        else:
            self.n_keys_used += src.size
        if self.source_syn_ptr is not None and not self.all_plastic:   # all rows static
            ptr = self.source_syn_ptr
            starts = ptr[src]
            self._scatter_ranges(k, starts, ptr[src + 1] - starts, counts,
                                 self.source_gid[src], fused, per_source=src)
            return
        if self.all_plastic:
            for event in fused or ():                   # (no static rows to merge with)
                self._add_fused(k, *event[1:])
            every = src if counts is None else np.repeat(src, counts)    # one per spike
            ptr = self.source_syn_ptr
            syn = ranges(ptr[every], ptr[every + 1] - ptr[every])
            now = self.plasticity.pre_spikes(k, syn, may_repeat=counts is not None)
            if now.size:
                self._scatter(k, now, weights=self.plasticity.weight[now])
            return
        syn = self.image.synapses
        first = syn.source_rows[src]
        per_source = syn.source_rows[src + 1] - first
        rows = ranges(first, per_source)
        kind = self.row_kind[rows]
        static = kind == _STATIC
        if static.any() or fused:
            static_rows = rows[static]
            starts = syn.row_ptr[static_rows]
            row_src = np.repeat(src, per_source)[static]
            self._scatter_ranges(
                k, starts, syn.row_ptr[static_rows + 1] - starts,
                None if counts is None else np.repeat(counts, per_source)[static],
                self.source_gid[row_src], fused)
        if counts is not None:                          # the others see every spike
            rows = np.repeat(rows, np.repeat(counts, per_source))
            kind = self.row_kind[rows]
        if self.short_term is not None:
            short = kind == _SHORT_TERM
            if short.any():
                index = self.short_term.space.expand(rows[short])
                index, efficacy = self.short_term.efficacies(
                    index, k + 1, lambda i: syn.weights(self.short_term.space.csr[i]))
                self._scatter(k, self.short_term.space.csr[index], weights=efficacy)
        if self.plasticity is not None:
            plastic = kind == _PLASTIC
            if plastic.any():
                index = self.plasticity.space.expand(rows[plastic])
                now = self.plasticity.pre_spikes(k, index, may_repeat=counts is not None)
                self._scatter_plastic(k, now)

    def _scatter_ranges(self, k: int, starts, lengths, counts, group_gid, fused,
                        per_source=None) -> None:
        """Add the static synapses of groups (a source's, or a row's) ``starts[g]
        ... starts[g] + lengths[g]`` for the spikes of step ``k``: weight ×
        ``counts[g]`` (the group's multiplicity, if any), groups in order of
        source ``group_gid`` (ascending), ``fused`` events joining in that
        order. ``per_source``: the groups are whole sources (their per-source
        weights apply). Compiled or numpy: the same adds in the same order."""
        if fused:
            firsts = np.array([f[0] for f in fused], dtype=np.int64)
            cuts = np.searchsorted(group_gid, firsts).tolist()
        else:
            cuts = []
        done = 0
        for cut, event in zip(cuts, fused or ()):
            self._add_groups(k, starts[done:cut], lengths[done:cut],
                             None if counts is None else counts[done:cut],
                             None if per_source is None else per_source[done:cut])
            self._add_fused(k, *event[1:])
            done = cut
        self._add_groups(k, starts[done:], lengths[done:],
                         None if counts is None else counts[done:],
                         None if per_source is None else per_source[done:])

    def _add_groups(self, k: int, starts, lengths, counts, sources) -> None:
        if starts.size == 0:
            return
        self.n_events += int(lengths.sum() if counts is None else (lengths * counts).sum())
        image = self.image.synapses
        base = (k % self.n_slots) * self.stride
        compiled = self._compiled
        if self.source_weight is not None and sources is not None:
            # every synapse of a source has its source's weight: one per group
            weight = self.source_weight[sources]
            if counts is not None:
                weight = weight * counts
            if compiled is not None:
                compiled.add_group_weights(self.ring, image.offset, base, starts, lengths,
                                           weight)
                return
            weights = np.repeat(weight, lengths)
            syn = ranges(starts, lengths)
        else:
            if compiled is not None:
                by_table = image.weight is None
                compiled.add_synapses(
                    self.ring, image.offset, base, starts, lengths,
                    _EMPTY if counts is None else counts.astype(np.float64),
                    _EMPTY if by_table else image.weight,
                    image.weight_index if by_table else _EMPTY_INDEX,
                    image.weight_table if by_table else _EMPTY)
                return
            syn = ranges(starts, lengths)
            weights = image.weights(syn)
            if counts is not None:
                weights *= np.repeat(counts, lengths)
        self._add(self._positions(k, image.offset[syn]), weights)

    def _scatter(self, k: int, syn: np.ndarray, weights=None, shift=None) -> None:
        """Add the weights of synapses ``syn`` (or the given ``weights``) to the
        ring buffer, ``delay`` (plus ``shift`` steps, if given) after step ``k``."""
        image = self.image.synapses
        self.n_events += syn.size
        self._add(self._positions(k, image.offset[syn], shift),
                  image.weights(syn) if weights is None else weights)

    def _positions(self, k: int, offset: np.ndarray, shift=None) -> np.ndarray:
        """Ring positions of synapses with ring offsets ``offset`` for spikes of
        step ``k`` (32-bit arithmetic where the ring allows, no modulo: offsets
        and the slot's base are each below one ring)."""
        size = self.ring.size
        base = (k % self.n_slots) * self.stride
        if size < 2**30 and offset.dtype == np.int32:
            pos = offset + np.int32(base)
            if shift is not None:
                pos += (shift * self.stride).astype(np.int32)
            pos -= (pos >= size) * np.int32(size)
            return pos
        pos = np.add(offset, base, dtype=np.int64)
        if shift is not None:
            pos += shift * self.stride
        pos %= size
        return pos

    def _add(self, pos: np.ndarray, weights: np.ndarray) -> None:
        if pos.size:
            np.add.at(self.ring, pos, weights)

    def _scatter_plastic(self, k: int, index: np.ndarray, shift=None) -> None:
        if index.size:
            self._scatter(k, self.plasticity.space.csr[index],
                          weights=self.plasticity.weight[index], shift=shift)

    # -- changes between runs -------------------------------------------------------------
    def apply(self, image: RankImage, changes, populations, next_step: int) -> None:
        """Use ``image`` (the same network, a newer version) from step
        ``next_step`` on, keeping every neuron's and synapse's dynamic state
        except where ``changes`` set it (``initialize()``, ``Projection.set``)."""
        self.image = image
        for slot, group_image in zip(self.slots, image.groups):
            slot.image = group_image
            pops = {p[0] for p in group_image.populations}
            group = slot.group
            if pops & changes.params:
                params = {n: np.asarray(v) for n, v in group_image.params.items()}
                group.set_parameters(params)
            if pops & changes.spike_times and group_image.spike_times is not None:
                group.set_spike_times(group_image.spike_times, self.dt, after_step=next_step - 1)
            for pid, gid_lo, gid_hi, local_lo in group_image.populations:
                for variable in changes.initial.get(pid, ()):
                    cols = slice(local_lo - slot.lo, local_lo - slot.lo + gid_hi - gid_lo)
                    group.state[variable][cols] = group_image.initial[variable][cols]
        for fused, fused_image in zip(self.fused, image.fused):
            fused.use(fused_image)
            if fused_image.population in changes.params:
                fused.group.set_parameters({n: np.asarray(v)
                                            for n, v in fused_image.params.items()})
            if (fused_image.population in changes.spike_times
                    and fused_image.spike_times is not None):
                fused.group.set_spike_times(fused_image.spike_times, self.dt,
                                            after_step=next_step - 1)
        syn = image.synapses
        if syn.n_receptors != self.n_receptors:
            raise NetworkError(
                f"rank {self.rank}: a change between runs needs {syn.n_receptors} receptor "
                f"rows in the ring buffer, the running network has {self.n_receptors}")
        if changes.updated:                 # weights per source may have changed
            self._build_decoding()
        for rep, rep_image in zip(self.replicated, image.replicated):
            rep.use(rep_image, self.source_key, self.source_gid)
            if rep_image.population in changes.params:
                rep.group.set_parameters({n: np.asarray(v) for n, v in rep_image.params.items()})
            if rep_image.population in changes.spike_times and rep_image.spike_times is not None:
                rep.group.set_spike_times(rep_image.spike_times, self.dt,
                                          after_step=next_step - 1)
        n_slots = max([syn.n_slots] + [int(f.delay.max()) + 1 for f in image.fused
                                       if f.delay.size])
        if n_slots > self.n_slots:
            self._grow_ring(n_slots)
        if self.short_term is not None and changes.updated:
            self.short_term.use(syn)        # Projection.set(U=...): new parameters
        if self.plasticity is not None:
            space = self.plasticity.space
            for pid, attribute in changes.updated:
                if pid in space.ids:
                    if attribute == "weight":
                        part = space.of(pid)
                        self.plasticity.weight[part] = syn.weights(space.csr[part])
                    else:
                        self.plasticity.set_delays(syn)
        if changes.record:
            self.configure_recording(populations, next_step)

    def _grow_ring(self, n_slots: int) -> None:
        """A longer ring buffer; spikes in flight keep their arrival step."""
        old = self.ring.reshape(self.n_slots, self.stride)
        new = np.zeros((n_slots, self.stride))
        k = self.current_step
        for t in range(k, k + self.n_slots):
            new[t % n_slots] = old[t % self.n_slots]
        self.ring = new.ravel()
        self.n_slots = n_slots

    # -- read-back -------------------------------------------------------------------------
    def weights_of(self, pid: int, syn: np.ndarray) -> np.ndarray:
        """Current weights of projection ``pid``'s synapses ``syn`` (CSR positions)."""
        if self.plasticity is not None and pid in self.plasticity.space.ids:
            space = self.plasticity.space
            part = space.of(pid)
            # a projection's rows are in CSR order, so its CSR positions ascend
            return self.plasticity.weight[part][np.searchsorted(space.csr[part], syn)]
        return self.image.synapses.weights(syn)
