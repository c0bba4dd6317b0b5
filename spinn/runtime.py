"""One rank's image and its timestep loop.

``RankEngine`` holds this rank's neurons (grouped by cell type, one
vectorised step per group), the synapses that end on them (CSR by source
neuron, the analogue of SpiNNaker's synaptic rows behind the master
population table), one ring buffer ``[delay slot, receptor, local neuron]``,
the rank's routing (local slice -> destination ranks) and its recording
buffers. Per step: deliver the ring slot, update, emit keys, route; then,
after the exchange, decode received keys and scatter their rows into the
ring buffer at ``t + delay``.
"""
from __future__ import annotations

import time

import numpy as np

from .connectors import generate_synapses
from .csr import row_entries
from .electrodes import BoundSource
from .plasticity import PlasticProjection, RankPlasticity
from .shortterm import RankShortTerm, ShortTermProjection
from .errors import NetworkError
from .rng import block_generator, draw
from .models import MODELS, N_RECEPTORS
from .network import NetworkSpec, evaluate
from .recording import SignalBuffer, SpikeBuffer

#: order of cell groups in a rank's local index space
GROUP_ORDER = tuple(MODELS)


class CellGroupSlot:
    """A cell group and where it sits in the rank's local index space."""

    def __init__(self, model_name, group, lo, hi, populations):
        self.model_name = model_name
        self.group = group
        self.lo, self.hi = lo, hi
        self.populations = populations   # list of (pop id, gid lo, gid hi, local lo)


class RankEngine:
    """Everything rank ``rank`` simulates. Built from the shared spec and mapping."""

    def __init__(self, spec: NetworkSpec, mapping, rank: int):
        t0 = time.perf_counter()
        self.spec = spec
        self.rank = rank
        self.n_ranks = mapping.placement.n_ranks
        self.dt = spec.dt_ms
        self._build_neurons(mapping)
        self._build_routing(mapping)
        self._build_synapses(mapping)
        self.spike_buffer = SpikeBuffer()
        self.signal_buffers: dict = {}
        self.record_spikes = np.zeros(self.n_local, dtype=bool)
        self.n_spikes = 0
        self.n_spikes_received = 0
        self.n_source_spikes = 0
        self.current_step = 0
        self.bound_sources = []
        self._injected_groups = []
        self.build_seconds = time.perf_counter() - t0

    # -- build -----------------------------------------------------------------
    def _build_neurons(self, mapping):
        spec = self.spec
        sl = mapping.slices
        mine = mapping.placement.slices_on(self.rank)
        self.local_slices = mine
        by_model = {}
        for s in mine.tolist():
            pop = spec.populations[int(sl.vertex[s])]
            by_model.setdefault(pop.model, []).append((pop, int(sl.lo[s]), int(sl.hi[s]), s))
        self.groups = []
        gids, keys, slice_of = [], [], []
        offset = 0
        for name in GROUP_ORDER:
            parts = by_model.get(name)
            if not parts:
                continue
            cls = MODELS[name]
            params = {p: [] for p in cls.parameter_names()}
            initial = {v: [] for v in cls.state_names()}
            spike_times = []
            pops = []
            g_lo = offset
            for pop, lo, hi, s in parts:
                for p in params:
                    params[p].append(evaluate(pop.params[p], lo, hi))
                for v in initial:
                    initial[v].append(evaluate(pop.initial[v], lo, hi))
                if pop.spike_times is not None:
                    spike_times.extend(pop.spike_times(lo, hi))
                gid_lo = pop.first_gid + lo
                gids.append(np.arange(gid_lo, pop.first_gid + hi, dtype=np.int64))
                keys.append(mapping.keys.base[s] + np.arange(hi - lo, dtype=np.uint32))
                slice_of.append(np.full(hi - lo, s, dtype=np.int64))
                pops.append((pop.id, gid_lo, pop.first_gid + hi, offset))
                offset += hi - lo
            params = {p: np.concatenate(v) for p, v in params.items()}
            initial = {v: np.concatenate(x) for v, x in initial.items()}
            group_gids = np.concatenate(gids[len(gids) - len(parts):])
            extra = {"spike_times": spike_times} if name == "SpikeSourceArray" else {}
            group = cls(group_gids, params, initial, self.dt, self.spec.seed, **extra)
            self.groups.append(CellGroupSlot(name, group, g_lo, offset, pops))
        self.n_local = offset
        self.local_gids = np.concatenate(gids) if gids else np.zeros(0, np.int64)
        self.local_keys = (np.concatenate(keys).astype(np.uint32) if keys
                           else np.zeros(0, np.uint32))
        self.local_slice_of = np.concatenate(slice_of) if slice_of else np.zeros(0, np.int64)
        self._gid_order = np.argsort(self.local_gids, kind="stable")
        self._gids_sorted = self.local_gids[self._gid_order]

    def _group_parameters(self, slot):
        """Parameters (and spike times) of a group, evaluated from the spec."""
        cls = MODELS[slot.model_name]
        params = {p: [] for p in cls.parameter_names()}
        spike_times = []
        for pop_id, gid_lo, gid_hi, _ in slot.populations:
            pop = self.spec.populations[pop_id]
            lo, hi = gid_lo - pop.first_gid, gid_hi - pop.first_gid
            for p in params:
                params[p].append(evaluate(pop.params[p], lo, hi))
            if pop.spike_times is not None:
                spike_times.extend(pop.spike_times(lo, hi))
        return {p: np.concatenate(v) for p, v in params.items()}, spike_times

    def update_population(self, pop_id: int, next_step: int) -> None:
        """Apply changed parameters of a population from step ``next_step`` on,
        keeping every neuron's dynamic state."""
        for slot in self.groups:
            if not any(p[0] == pop_id for p in slot.populations):
                continue
            params, spike_times = self._group_parameters(slot)
            old = slot.group
            if slot.model_name == "SpikeSourceArray":
                old.set_spike_times(spike_times, self.dt, after_step=next_step - 1)
            elif hasattr(old, "set_parameters"):
                old.set_parameters(params)
            else:
                state = {k: v.copy() for k, v in old.state.items()}
                new = type(old)(old.gids, params, state, self.dt, self.spec.seed)
                for attr in getattr(old, "carried_state", ("refractory", "i_inj")):
                    if hasattr(old, attr):
                        setattr(new, attr, getattr(old, attr))
                slot.group = new

    def set_state(self, pop_id: int, variable: str, value) -> None:
        """``initialize()`` after a run: set the current value of a state variable."""
        for slot in self.groups:
            for pid, gid_lo, gid_hi, local_lo in slot.populations:
                if pid != pop_id:
                    continue
                pop = self.spec.populations[pid]
                lo, hi = gid_lo - pop.first_gid, gid_hi - pop.first_gid
                cols = slice(local_lo - slot.lo, local_lo - slot.lo + hi - lo)
                slot.group.state[variable][cols] = evaluate(value, lo, hi)

    def local_index(self, gids: np.ndarray) -> np.ndarray:
        """Local index of each (local) global id."""
        pos = np.searchsorted(self._gids_sorted, gids)
        return self._gid_order[pos]

    def is_local(self, gids: np.ndarray) -> np.ndarray:
        gids = np.asarray(gids, dtype=np.int64)
        if self._gids_sorted.size == 0:       # an idle rank (more ranks than slices)
            return np.zeros(gids.shape, dtype=bool)
        pos = np.searchsorted(self._gids_sorted, gids)
        pos = np.minimum(pos, self._gids_sorted.size - 1)
        return self._gids_sorted[pos] == gids

    def _build_routing(self, mapping):
        table = mapping.tables[self.rank]
        slices = np.unique(self.local_slice_of)
        dest = np.zeros((max(slices.size, 1), self.n_ranks), dtype=bool)
        if slices.size:
            ptr, ranks = table.route(mapping.keys.base[slices])
            rows = np.repeat(np.arange(slices.size), np.diff(ptr))
            dest[rows, ranks] = True
        self.dest = dest
        self.local_slice_row = np.searchsorted(slices, self.local_slice_of)
        # global key decoding: key -> slice -> first gid of the slice
        sl = mapping.slices
        first_gid = np.array([p.first_gid for p in self.spec.populations], dtype=np.int64)
        self.key_base = mapping.keys.base.astype(np.int64)
        self.slice_first_gid = first_gid[sl.vertex] + sl.lo

    def _build_synapses(self, mapping):
        spec, dt = self.spec, self.dt
        srcs, tgts, ws, ds, recs, projs, orders = [], [], [], [], [], [], []
        self.projection_synapses = {}
        for proj in spec.projections:
            local_post = np.flatnonzero(self.is_local(proj.post_gids))
            pre, post, w, d_ms = generate_synapses(proj, local_post)
            check_synapses(proj, w, d_ms, dt)
            d_steps = np.rint(d_ms / dt).astype(np.int64)
            self.projection_synapses[proj.id] = (pre, post)
            srcs.append(proj.pre_gids[pre])
            tgts.append(self.local_index(proj.post_gids[post]))
            ws.append(w)
            ds.append(d_steps)
            recs.append(np.full(pre.size, proj.receptor, dtype=np.int64))
            projs.append(np.full(pre.size, proj.id, dtype=np.int64))
            orders.append(np.arange(pre.size, dtype=np.int64))
        cat = (lambda x, dtype: np.concatenate(x).astype(dtype) if x
               else np.zeros(0, dtype))
        src, tgt = cat(srcs, np.int64), cat(tgts, np.int64)
        weight, delay = cat(ws, np.float64), cat(ds, np.int64)
        receptor, proj_id, order = cat(recs, np.int64), cat(projs, np.int64), cat(orders, np.int64)
        # canonical row order: source gid, target gid, projection, generation order
        perm = np.lexsort((order, proj_id, self.local_gids[tgt] if tgt.size else tgt, src))
        src, tgt, weight, delay = src[perm], tgt[perm], weight[perm], delay[perm]
        receptor, proj_id = receptor[perm], proj_id[perm]
        # where each projection's synapses (in generation order) sit in the CSR
        inverse = np.empty_like(perm)
        inverse[perm] = np.arange(perm.size)
        start = 0
        self.projection_csr = {}
        for proj, s in zip(spec.projections, srcs):
            self.projection_csr[proj.id] = inverse[start:start + s.size]
            start += s.size
        self.row_gid, row_start = np.unique(src, return_index=True)
        self.row_ptr = np.append(row_start, src.size).astype(np.int64)
        self.max_delay = int(delay.max()) if delay.size else 1
        self.n_slots = self.max_delay + 1
        rn = N_RECEPTORS * self.n_local
        self.ring = np.zeros(self.n_slots * rn, dtype=np.float64)
        self.syn_offset = delay * rn + receptor * self.n_local + tgt
        self.syn_weight = weight
        self.syn_delay = delay
        self.syn_projection = proj_id
        self.n_synapses = int(src.size)
        self._build_plasticity()

    def _build_plasticity(self):
        plastic = []
        for proj in self.spec.projections:
            if proj.plasticity is None:
                continue
            csr = self.projection_csr[proj.id]
            plastic.append(PlasticProjection(proj.plasticity, proj.label, csr,
                                             self.syn_delay[csr], self.dt))
        self.plasticity = None
        if plastic:
            target = (self.syn_offset % self.n_local) if self.n_local else self.syn_offset
            self.plasticity = RankPlasticity(self.n_synapses, plastic, target, self.n_local)
        short = [ShortTermProjection(proj.short_term, proj.label,
                                     self.projection_csr[proj.id], self.dt)
                 for proj in self.spec.projections if proj.short_term is not None]
        self.short_term = RankShortTerm(self.n_synapses, short) if short else None

    # -- recording -------------------------------------------------------------
    def configure_recording(self, stamp: int):
        """(Re)apply the populations' record settings; sample signals at ``stamp``."""
        self.record_spikes[:] = False
        wanted = {}
        for pop in self.spec.populations:
            for var, (indices, interval) in pop.record.items():
                gids = pop.first_gid + np.asarray(indices, dtype=np.int64)
                gids = gids[self.is_local(gids)]
                if var == "spikes":
                    self.record_spikes[self.local_index(gids)] = True
                elif gids.size:
                    wanted[(pop.id, var)] = (gids, interval)
        for key, (gids, interval) in wanted.items():
            buf = self.signal_buffers.get(key)
            if buf is not None and np.array_equal(buf.gids, gids) and buf.interval == interval:
                continue
            slot = self._group_of(gids[0])
            columns = self.local_index(gids) - slot.lo
            buf = SignalBuffer(gids, columns, interval)
            buf.slot = slot
            buf.variable = key[1]
            self.signal_buffers[key] = buf
            buf.maybe_sample(stamp, slot.group.state[key[1]])
        for key in list(self.signal_buffers):
            if key not in wanted:
                del self.signal_buffers[key]

    def _group_of(self, gid):
        i = int(self.local_index(np.array([gid]))[0])
        for slot in self.groups:
            if slot.lo <= i < slot.hi:
                return slot
        raise KeyError(gid)

    def bind_current_sources(self, sources) -> None:
        """Attach the current sources to this rank's targets (before each run)."""
        self.bound_sources = []
        groups = []
        for src in sources:
            gids = src.targets[self.is_local(src.targets)]
            if gids.size == 0:
                continue
            local = self.local_index(gids)
            for slot in self.groups:
                mine = (local >= slot.lo) & (local < slot.hi)
                if mine.any():
                    self.bound_sources.append(
                        BoundSource(src, slot.group, local[mine] - slot.lo, gids[mine]))
                    if slot.group not in groups:
                        groups.append(slot.group)
        for g in self._injected_groups:
            g.i_inj[:] = 0.0
        self._injected_groups = groups

    # -- the step --------------------------------------------------------------
    def advance(self, k: int):
        """Deliver, update, record and emit for step ``k``.

        Returns ``(counts, keys)``: the number of keys for each destination
        rank and the keys grouped by destination, in ascending key order.
        """
        self.current_step = k
        rn = N_RECEPTORS * self.n_local
        base = (k % self.n_slots) * rn
        if self.plasticity is not None:
            arrived = self.plasticity.begin_step(k, self.syn_weight)
            if arrived.size:       # deferred (axonal) pre events: PSP after the rest of d
                rest = self.syn_delay[arrived] - self.plasticity.delay_seen_pre[arrived]
                self._scatter(k, arrived, shift=rest - self.syn_delay[arrived])
        slot = self.ring[base:base + rn].reshape(N_RECEPTORS, self.n_local)
        if self._injected_groups:
            for group in self._injected_groups:
                group.i_inj[:] = 0.0
            for bound in self.bound_sources:
                bound.apply(k, self.dt)
        fired_parts = []
        for g in self.groups:
            idx, counts = g.group.step(k, slot[0, g.lo:g.hi], slot[1, g.lo:g.hi])
            if idx.size:
                if g.group.is_source:
                    self.n_source_spikes += idx.size if counts is None else int(counts.sum())
                idx = idx + g.lo
                fired_parts.append(idx if counts is None else np.repeat(idx, counts))
        slot[:] = 0.0
        stamp = k + 1
        for buf in self.signal_buffers.values():
            buf.maybe_sample(stamp, buf.slot.group.state[buf.variable])
        if not fired_parts:
            return self._no_send
        fired = np.sort(np.concatenate(fired_parts)) if len(fired_parts) > 1 else fired_parts[0]
        self.n_spikes += fired.size
        if self.plasticity is not None:
            self.plasticity.post_spikes(k, fired, self.syn_weight)
        rec = fired[self.record_spikes[fired]]
        if rec.size:
            self.spike_buffer.append(stamp, self.local_gids[rec])
        keys = self.local_keys[fired]
        order = np.argsort(keys, kind="stable")
        keys, fired = keys[order], fired[order]
        dest = self.dest[self.local_slice_row[fired]]          # (n_spikes, n_ranks)
        ranks, which = np.nonzero(dest.T)
        return np.bincount(ranks, minlength=self.n_ranks), keys[which]

    @property
    def _no_send(self):
        return np.zeros(self.n_ranks, dtype=np.int64), np.zeros(0, dtype=np.uint32)

    def receive(self, k: int, keys: np.ndarray) -> None:
        """Scatter the rows of the received keys into the ring buffer."""
        if keys.size == 0 or self.row_gid.size == 0:
            return
        keys = np.sort(keys.astype(np.int64), kind="stable")   # canonical: by source gid
        s = np.searchsorted(self.key_base, keys, side="right") - 1
        gids = self.slice_first_gid[s] + (keys - self.key_base[s])
        rows = np.searchsorted(self.row_gid, gids)
        rows_c = np.minimum(rows, self.row_gid.size - 1)
        rows = rows_c[self.row_gid[rows_c] == gids]
        self.n_spikes_received += rows.size
        if rows.size == 0:
            return
        syn = row_entries(self.row_ptr, rows)
        if syn.size == 0:
            return
        if self.short_term is not None:
            stp = self.short_term.is_short_term(syn)
            if stp.any():
                stp_syn, efficacy = self.short_term.efficacies(syn[stp], k + 1,
                                                               self.syn_weight)
                self._scatter(k, stp_syn, weights=efficacy)
                syn = syn[~stp]
        if self.plasticity is None:
            self._scatter(k, syn)
            return
        if self.plasticity.all_plastic:
            plastic_syn = syn
        else:
            plastic = self.plasticity.is_plastic(syn)
            self._scatter(k, syn[~plastic])
            plastic_syn = syn[plastic]
        # a synapse can see two spikes in one step only if a key came twice
        repeats = bool(keys.size > 1 and np.any(keys[1:] == keys[:-1]))
        now = self.plasticity.pre_spikes(k, plastic_syn, self.syn_weight,
                                         may_repeat=repeats)
        self._scatter(k, now)

    def _scatter(self, k: int, syn: np.ndarray, shift=None, weights=None) -> None:
        """Add the weights of synapses ``syn`` (or the given ``weights``) to the
        ring buffer, ``delay`` (plus ``shift`` steps, if given) after step ``k``."""
        if syn.size == 0:
            return
        rn = N_RECEPTORS * self.n_local
        size = self.ring.size
        pos = self.syn_offset[syn] + (k % self.n_slots) * rn
        if shift is not None:
            pos += shift * rn
        pos %= size
        np.add.at(self.ring, pos, self.syn_weight[syn] if weights is None else weights)

    # -- changing synapses between runs -------------------------------------------
    def set_synapse_values(self, proj, name: str, spec, serial: int) -> None:
        """``Projection.set(weight=...)`` / ``set(delay=...)`` on local synapses.

        Random values are drawn per post neuron from a stream keyed by
        ``(seed, projection, serial, post index)``, in the projection's
        canonical synapse order: the same whatever the slicing.
        """
        pre, post = self.projection_synapses[proj.id]
        csr = self.projection_csr[proj.id]
        if spec.kind == "scalar":
            values = np.full(pre.size, float(spec.value))
        elif spec.kind == "array":
            values = np.asarray(spec.value, dtype=float)[pre, post]
            if np.isnan(values).any():
                raise NetworkError(f"Projection '{proj.label}': the {name} array has NaN "
                                   "where a connection exists")
        elif spec.kind == "distribution":
            dist, parameters = spec.value
            values = np.empty(pre.size)
            posts, starts, counts = np.unique(post, return_index=True, return_counts=True)
            for j, a, c in zip(posts.tolist(), starts.tolist(), counts.tolist()):
                rng = block_generator(proj.connector.seed, proj.id, 0x5E7, serial, j)
                values[a:a + c] = draw(rng, dist, parameters, c)
        else:
            raise NetworkError(f"Projection '{proj.label}': cannot set {name} from {spec.kind}")
        if name == "weight":
            check_synapses(proj, values, np.zeros(0), self.dt)
            self.syn_weight[csr] = values
            return
        check_synapses(proj, np.zeros(0), values, self.dt)
        steps = np.rint(values / self.dt).astype(np.int64)
        rn = N_RECEPTORS * self.n_local
        self.syn_offset[csr] += (steps - self.syn_delay[csr]) * rn
        self.syn_delay[csr] = steps
        if steps.size and steps.max() >= self.n_slots:
            self._grow_ring(int(steps.max()) + 1)

    def _grow_ring(self, n_slots: int, step: int | None = None) -> None:
        """A longer ring buffer; spikes in flight keep their arrival step."""
        rn = N_RECEPTORS * self.n_local
        old = self.ring.reshape(self.n_slots, rn)
        new = np.zeros((n_slots, rn))
        k = self.current_step
        for t in range(k, k + self.n_slots):
            new[t % n_slots] = old[t % self.n_slots]
        self.ring = new.ravel()
        self.n_slots = n_slots

    # -- read-back ---------------------------------------------------------------
    def projection_connections(self, proj_id: int):
        """Local synapses of a projection: (pre, post, weight, delay_steps)."""
        pre, post = self.projection_synapses[proj_id]
        csr = self.projection_csr[proj_id]
        return pre, post, self.syn_weight[csr], self.syn_delay[csr]


def check_synapses(proj, w, d_ms, dt):
    """Weights of the right sign and finite; delays of at least one step."""
    if w.size and not np.all(np.isfinite(w)):
        bad = w[~np.isfinite(w)][0]
        raise NetworkError(f"Projection '{proj.label}': weight {bad} is not finite")
    if proj.weight_sign > 0 and w.size and w.min() < 0:
        raise NetworkError(
            f"Projection '{proj.label}': weight {w.min():g} is negative, but weights onto "
            f"the '{proj.receptor_name}' receptor must be >= 0 "
            "(use receptor_type='inhibitory' with negative weights for current-based "
            "inhibition, positive weights for conductance-based)")
    if proj.weight_sign < 0 and w.size and w.max() > 0:
        raise NetworkError(
            f"Projection '{proj.label}': weight {w.max():g} is positive, but inhibitory "
            "weights onto a current-based cell must be <= 0")
    if d_ms.size:
        dmin = float(np.min(d_ms))
        if not np.all(np.isfinite(d_ms)) or dmin <= 0:
            raise NetworkError(
                f"Projection '{proj.label}': delay {dmin:g} ms is not positive; "
                f"delays must be at least one timestep ({dt:g} ms)")
        if np.rint(dmin / dt) < 1:
            raise NetworkError(
                f"Projection '{proj.label}': delay {dmin:g} ms is below the timestep "
                f"{dt:g} ms; delays must be at least one timestep")
