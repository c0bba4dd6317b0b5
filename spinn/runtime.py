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

import numpy as np

from .build import LocalNeurons, RankImage
from .csr import ranges, row_entries
from .electrodes import BoundSource
from .models import MODELS, N_RECEPTORS, dynamic_state
from .plasticity import RankPlasticity
from .recording import RankRecorder
from .shortterm import RankShortTerm

__all__ = ["RankRuntime", "CellGroupSlot"]

_STATIC, _PLASTIC, _SHORT_TERM = 0, 1, 2


class CellGroupSlot:
    """A cell group and where it sits in the rank's local index space."""

    def __init__(self, image, group):
        self.image = image
        self.model_name = image.model
        self.group = group
        self.lo, self.hi = image.lo, image.hi
        self.populations = image.populations   # (pop id, gid lo, gid hi, local lo)


def _make_group(image, dt: float, seed: int):
    cls = MODELS[image.model]
    extra = {"spike_times": image.spike_times} if image.spike_times is not None else {}
    initial = {name: np.array(values) for name, values in image.initial.items()}
    params = {name: np.asarray(values) for name, values in image.params.items()}
    return cls(image.gids, params, initial, dt, seed, **extra)


class RankRuntime:
    """Everything rank ``image.rank`` simulates, started from its image."""

    def __init__(self, image: RankImage, step: int = 0):
        if image.routing is None:
            raise ValueError("a runtime needs an image with routing (build.with_routing)")
        self.image = image
        self.rank, self.n_ranks, self.dt = image.rank, image.n_ranks, image.dt_ms
        self.n_local = image.n_local
        ranges_ = np.zeros((0, 2), dtype=np.int64)
        self.neurons = LocalNeurons(np.asarray(image.local_gids), ranges_)
        self.slots = [CellGroupSlot(g, _make_group(g, self.dt, image.seed)) for g in image.groups]
        syn = image.synapses
        self.stride = N_RECEPTORS * self.n_local
        self.n_slots = syn.n_slots
        self.ring = np.zeros(self.n_slots * self.stride)
        self._build_rules()
        self._build_routing()
        self._build_decoding()
        self.recorder = RankRecorder(self.slots, self.n_local, self.neurons.index)
        self.current_step = step
        self.n_spikes = 0
        self.n_source_spikes = 0
        self.n_keys_received = 0        # keys that arrived
        self.n_keys_used = 0            # ... and found synapses here
        self.bound_sources = []
        self._injected_groups = []

    # -- set-up --------------------------------------------------------------------
    def _build_rules(self):
        syn = self.image.synapses
        plastic = {pid: (rule, label) for pid, label, kind, rule in self.image.rules
                   if kind == "plastic"}
        short = {pid: (rule, label) for pid, label, kind, rule in self.image.rules
                 if kind == "short_term"}
        self.plasticity = RankPlasticity(syn, plastic, self.n_local, self.dt) if plastic else None
        self.short_term = RankShortTerm(syn, short, self.dt) if short else None
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
        # every synapse plastic, numbered as in the CSR: plastic index = CSR position
        self.all_plastic = (self.plasticity is not None and self.short_term is None
                            and self.plasticity.space.n == syn.n_synapses
                            and bool(np.all(self.plasticity.space.csr
                                            == np.arange(syn.n_synapses))))
        static = self.row_kind is None
        self.source_syn_ptr = (syn.row_ptr[syn.source_rows] if static or self.all_plastic
                               else None)

    def state_arrays(self) -> dict:
        """Every dynamic array of this rank by name (the step is ``current_step``)."""
        out = {"ring": self.ring}
        for i, slot in enumerate(self.slots):
            for name, array in dynamic_state(slot.group).items():
                out[f"group/{i}:{slot.model_name}/{name}"] = array
        if self.plasticity is not None:
            out.update({f"plastic/{k}": v for k, v in self.plasticity.state_arrays().items()})
        if self.short_term is not None:
            out.update({f"short_term/{k}": v
                        for k, v in self.short_term.state_arrays().items()})
        return out

    # -- recording and current sources -------------------------------------------------
    def configure_recording(self, populations, stamp: int) -> None:
        self.recorder.configure(populations, stamp, self.neurons.is_local)

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
        self._injected_groups = groups

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
        slot_input = self.ring[base:base + stride].reshape(N_RECEPTORS, self.n_local)
        if self._injected_groups:
            for group in self._injected_groups:
                group.i_inj[:] = 0.0
            for bound in self.bound_sources:
                bound.apply(k, self.dt)
        fired_parts = []
        for g in self.slots:
            idx, counts = g.group.step(k, slot_input[0, g.lo:g.hi], slot_input[1, g.lo:g.hi])
            if idx.size:
                if g.group.is_source:
                    self.n_source_spikes += idx.size if counts is None else int(counts.sum())
                idx = idx + g.lo
                fired_parts.append(idx if counts is None else np.repeat(idx, counts))
        slot_input[:] = 0.0
        stamp = k + 1
        self.recorder.sample(stamp)
        if not fired_parts:
            return self._no_send
        fired = np.sort(np.concatenate(fired_parts)) if len(fired_parts) > 1 else fired_parts[0]
        self.n_spikes += fired.size
        if self.plasticity is not None:
            self.plasticity.post_spikes(k, fired)
        rec = fired[self.recorder.record_spikes[fired]]
        if rec.size:
            self.recorder.spikes.append(stamp, self.image.local_gids[rec])
        return self._route(fired)

    def _route(self, fired: np.ndarray):
        """Keys of ``fired`` grouped by destination (out-neighbour position)."""
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
        """Scatter the rows of the received keys into the ring buffer."""
        if keys.size == 0:
            return
        self.n_keys_received += keys.size
        source_key = self.source_key
        if source_key.size == 1:                     # only the sentinel: no synapses here
            return
        keys = np.sort(keys, kind="stable")          # canonical: by source gid
        src = np.searchsorted(source_key, keys)
        src = src[source_key[src] == keys]
        self.n_keys_used += src.size
        if src.size == 0:
            return
        if self.source_syn_ptr is not None:          # one kind of row: one range each
            ptr = self.source_syn_ptr
            first = ptr[src]
            syn = ranges(first, ptr[src + 1] - first)
            if not self.all_plastic:
                self._scatter(k, syn)
                return
            repeats = bool(keys.size > 1 and np.any(keys[1:] == keys[:-1]))
            now = self.plasticity.pre_spikes(k, syn, may_repeat=repeats)
            if now.size:
                self._scatter(k, now, weights=self.plasticity.weight[now])
            return
        syn = self.image.synapses
        first = syn.source_rows[src]
        rows = ranges(first, syn.source_rows[src + 1] - first)
        kind = self.row_kind[rows]
        static = kind == _STATIC
        if static.any():
            self._scatter(k, row_entries(syn.row_ptr, rows[static]))
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
                # a synapse can see two spikes in one step only if a key came twice
                repeats = bool(keys.size > 1 and np.any(keys[1:] == keys[:-1]))
                now = self.plasticity.pre_spikes(k, index, may_repeat=repeats)
                self._scatter_plastic(k, now)

    def _scatter(self, k: int, syn: np.ndarray, weights=None, shift=None) -> None:
        """Add the weights of synapses ``syn`` (or the given ``weights``) to the
        ring buffer, ``delay`` (plus ``shift`` steps, if given) after step ``k``."""
        if syn.size == 0:
            return
        image = self.image.synapses
        pos = np.add(image.offset[syn], (k % self.n_slots) * self.stride, dtype=np.int64)
        if shift is not None:
            pos += shift * self.stride
        pos %= self.ring.size
        np.add.at(self.ring, pos, image.weights(syn) if weights is None else weights)

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
        syn = image.synapses
        if syn.n_slots > self.n_slots:
            self._grow_ring(syn.n_slots)
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
