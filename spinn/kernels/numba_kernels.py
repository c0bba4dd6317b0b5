"""numba kernels: each repeats the numpy path's arithmetic, operation by
operation and in the same order, so results are bitwise identical (no fast
math, no fused multiply-add: numba compiles with LLVM's default, which does
not contract ``a * b + c``)."""
from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_TWO53 = 1.0 / float(1 << 53)


# -- delivery -----------------------------------------------------------------------

@_jit
def add_synapses(ring, offset, base, starts, lengths, scale, weight, weight_index, table):
    """For each group g (a source's or a row's synapses ``starts[g] ...
    starts[g] + lengths[g]``), add ``w * scale[g]`` at ``offset + base`` (one
    ring length subtracted when past the end); ``w`` from ``weight`` or, when
    ``table`` is not empty, ``table[weight_index]``. ``scale`` empty: no
    multiplication. The order of adds is that of ``np.add.at`` over the
    concatenated groups."""
    size = ring.size
    by_table = table.size > 0
    scaled = scale.size > 0
    for g in range(starts.size):
        a = starts[g]
        for s in range(a, a + lengths[g]):
            pos = np.int64(offset[s]) + base
            if pos >= size:
                pos -= size
            w = table[weight_index[s]] if by_table else weight[s]
            if scaled:
                w = w * scale[g]
            ring[pos] += w


@_jit
def route(fired, local_keys, local_slice, slice_rank, dest_ptr, dest_pos, counts, out):
    """The keys of the local neurons ``fired`` (ascending local indices) grouped
    by destination (position among the out-neighbours, ``dest_pos[dest_ptr[s]
    ... dest_ptr[s + 1]]`` for slice ``s``), each group in ascending key order:
    ``counts[d]`` keys for neighbour ``d`` into ``out`` (as runtime._route).
    A slice's neurons have consecutive local indices and keys, so ordering the
    keys is a counting sort by the slices' ranks in key order
    (``slice_rank``; empty: local order is key order). Returns how many."""
    n = fired.size
    if slice_rank.size > 0:
        at = np.zeros(slice_rank.size + 1, dtype=np.int64)
        for i in range(n):
            at[slice_rank[local_slice[fired[i]]] + 1] += 1
        for r in range(slice_rank.size):
            at[r + 1] += at[r]
        keys = np.empty(n, dtype=local_keys.dtype)
        slices = np.empty(n, dtype=np.int64)
        for i in range(n):
            f = fired[i]
            sl = local_slice[f]
            r = slice_rank[sl]
            keys[at[r]] = local_keys[f]
            slices[at[r]] = sl
            at[r] += 1
    else:
        keys = local_keys[fired]
        slices = local_slice[fired].astype(np.int64)
    counts[:] = 0
    for i in range(n):
        sl = slices[i]
        for q in range(dest_ptr[sl], dest_ptr[sl + 1]):
            counts[dest_pos[q]] += 1
    at = np.empty(counts.size, dtype=np.int64)
    total = 0
    for d in range(counts.size):
        at[d] = total
        total += counts[d]
    for i in range(n):
        sl = slices[i]
        for q in range(dest_ptr[sl], dest_ptr[sl + 1]):
            d = dest_pos[q]
            out[at[d]] = keys[i]
            at[d] += 1
    return total


@_jit
def sorted_keys(keys):
    """``keys`` in ascending order (int64). They arrive as a few ascending runs
    (one per sender: each sends its keys sorted), so runs are merged pairwise,
    ``n log(runs)``; no sort of the whole."""
    n = keys.size
    a = keys.astype(np.int64)
    n_runs = 1
    for i in range(1, n):
        if a[i] < a[i - 1]:
            n_runs += 1
    if n_runs == 1:
        return a
    bounds = np.empty(n_runs + 1, dtype=np.int64)
    bounds[0] = 0
    r = 1
    for i in range(1, n):
        if a[i] < a[i - 1]:
            bounds[r] = i
            r += 1
    bounds[n_runs] = n
    b = np.empty_like(a)
    while n_runs > 1:
        merged = 0
        for r in range(0, n_runs, 2):
            lo = bounds[r]
            if r + 1 == n_runs:                 # an odd run out: copied as it is
                for i in range(lo, bounds[r + 1]):
                    b[i] = a[i]
            else:
                mid, hi = bounds[r + 1], bounds[r + 2]
                i, j, w = lo, mid, lo
                while i < mid and j < hi:
                    if a[j] < a[i]:
                        b[w] = a[j]
                        j += 1
                    else:
                        b[w] = a[i]
                        i += 1
                    w += 1
                while i < mid:
                    b[w] = a[i]
                    i += 1
                    w += 1
                while j < hi:
                    b[w] = a[j]
                    j += 1
                    w += 1
            bounds[merged] = lo
            merged += 1
        bounds[merged] = n
        n_runs = merged
        a, b = b, a
    return a


@_jit
def receive_sources(ring, keys, source_key, ptr, source_weight, offset, base, weight,
                    weight_index, table):
    """The keys of one step onto synapses that are all static, each source's
    as the range ``ptr[s] ... ptr[s + 1]``: keys in ascending order (a key
    ``m`` times: one add of ``m × weight``), each found among ``source_key``
    (ascending, a sentinel last) by galloping from the previous one; the
    weight per source (``source_weight``) or per synapse (``weight`` /
    ``table[weight_index]``), as runtime.receive with add_group_weights /
    add_synapses. Returns the number of keys that found synapses here and
    the synaptic events they made (a key's synapses × its multiplicity)."""
    ks = sorted_keys(keys)
    n = ks.size
    size = ring.size
    per_source = source_weight.size > 0
    by_table = table.size > 0
    last = source_key.size - 1              # the sentinel's place
    used = 0
    events = 0
    p = 0
    i = 0
    while i < n:
        key = ks[i]
        e = i + 1
        while e < n and ks[e] == key:
            e += 1
        count = e - i
        i = e
        if source_key[p] < key:             # gallop, then bisect
            step = 1
            while p + step < last and source_key[p + step] < key:
                step <<= 1
            lo = p + (step >> 1) + 1
            hi = min(p + step, last)
            while lo < hi:
                mid = (lo + hi) >> 1
                if source_key[mid] < key:
                    lo = mid + 1
                else:
                    hi = mid
            p = lo
        if source_key[p] != key:
            continue
        s = p
        used += count
        events += count * (ptr[s + 1] - ptr[s])
        if per_source:
            w = source_weight[s]
            if count > 1:
                w = w * np.float64(count)
            for q in range(ptr[s], ptr[s + 1]):
                pos = np.int64(offset[q]) + base
                if pos >= size:
                    pos -= size
                ring[pos] += w
        else:
            for q in range(ptr[s], ptr[s + 1]):
                pos = np.int64(offset[q]) + base
                if pos >= size:
                    pos -= size
                w = table[weight_index[q]] if by_table else weight[q]
                if count > 1:
                    w = w * np.float64(count)
                ring[pos] += w
    return used, events


@_jit
def add_group_weights(ring, offset, base, starts, lengths, group_weight):
    """As :func:`add_synapses` with one weight per group (already scaled)."""
    size = ring.size
    for g in range(starts.size):
        a = starts[g]
        w = group_weight[g]
        for s in range(a, a + lengths[g]):
            pos = np.int64(offset[s]) + base
            if pos >= size:
                pos -= size
            ring[pos] += w


@_jit
def add_indexed(ring, offset, weight, base, idx, counts):
    """Add ``weight[i] * counts[t]`` (``counts`` empty: ``weight[i]``) at
    ``offset[i] + base`` for ``i = idx[t]``, in order (np.add.at's)."""
    size = ring.size
    scaled = counts.size > 0
    for t in range(idx.size):
        i = idx[t]
        pos = np.int64(offset[i]) + base
        if pos >= size:
            pos -= size
        w = weight[i] * counts[t] if scaled else weight[i]
        ring[pos] += w


# -- cells ---------------------------------------------------------------------------
# c: packed per-neuron constants (rows), see LIFGroup._pack

@_jit
def _threshold(v, refr, c, ref_steps, fired):
    """Reset the cells at or above threshold (row 4 of c) to v_reset (row 5),
    refractory for ref_steps; their indices into ``fired``; returns how many."""
    nf = 0
    for j in range(v.size):
        if v[j] >= c[4, j]:
            fired[nf] = j
            nf += 1
    for i in range(nf):
        j = fired[i]
        v[j] = c[5, j]
        refr[j] = ref_steps[j]
    return nf


# The loops below are branch-free (selects, not jumps) so that LLVM vectorises
# them; each value is still computed by the numpy path's operations in its order.

@_jit
def lif_exp_step(v, ie, ii, refr, i_inj, c, ref_steps, exc, inh, fired):
    """IF_curr_exp: rows of c: v_rest, current_to_v, i_offset, decay_v, v_thresh,
    v_reset, to_v0, to_v1, decay0, decay1."""
    for j in range(v.size):
        r = refr[j]
        u = v[j] - c[0, j]
        a = c[1, j] * (c[2, j] + i_inj[j])
        b = c[3, j] * u
        m = c[6, j] * ie[j] + c[7, j] * ii[j]
        new = ((a + b) + m) + c[0, j]
        v[j] = new if r == 0 else v[j]
        refr[j] = r - (r != 0)
        ie[j] = ie[j] * c[8, j] + exc[j]
        ii[j] = ii[j] * c[9, j] + inh[j]
    return _threshold(v, refr, c, ref_steps, fired)


@_jit
def lif_delta_step(v, refr, i_inj, c, ref_steps, exc, inh, fired):
    """IF_curr_delta: rows of c: v_rest, current_to_v, i_offset, decay_v,
    v_thresh, v_reset. Input arriving while refractory is discarded."""
    for j in range(v.size):
        r = refr[j]
        u = v[j] - c[0, j]
        a = c[1, j] * (c[2, j] + i_inj[j])
        b = c[3, j] * u
        new = ((a + b) + 0.0) + c[0, j]
        old = v[j]
        v[j] = (new if r == 0 else old) + ((exc[j] + inh[j]) if r == 0 else 0.0)
        refr[j] = r - (r != 0)
    return _threshold(v, refr, c, ref_steps, fired)


@_jit
def lif_alpha_step(v, ie, ii, rise0, rise1, refr, i_inj, c, ref_steps, exc, inh, fired):
    """IF_curr_alpha: rows of c: v_rest, current_to_v, i_offset, decay_v,
    v_thresh, v_reset, to_v0, to_v1, decay0, decay1, rise_to_v0, rise_to_v1,
    rise_to_current0, rise_to_current1, jump0, jump1."""
    for j in range(v.size):
        r = refr[j]
        u = v[j] - c[0, j]
        a = c[1, j] * (c[2, j] + i_inj[j])
        b = c[3, j] * u
        m = ((c[10, j] * rise0[j] + c[6, j] * ie[j]) + c[11, j] * rise1[j]) \
            + c[7, j] * ii[j]
        new = ((a + b) + m) + c[0, j]
        v[j] = new if r == 0 else v[j]
        refr[j] = r - (r != 0)
        e = ie[j] * c[8, j]
        ie[j] = e + c[12, j] * rise0[j]
        q = rise0[j] * c[8, j]
        rise0[j] = q + c[14, j] * exc[j]
        i = ii[j] * c[9, j]
        ii[j] = i + c[13, j] * rise1[j]
        q = rise1[j] * c[9, j]
        rise1[j] = q + c[15, j] * inh[j]
    return _threshold(v, refr, c, ref_steps, fired)


# -- sources -------------------------------------------------------------------------

@_jit
def _mix64(x):
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@_jit
def poisson_step(key, gids, step, p0, lam, first, last, cdf, saturated, all_active, fired,
                 counts):
    """SpikeSourcePoisson: one hashed uniform per neuron (spinn.rng.hashed_uniform)
    and its count: ``#{i: cdf[i] <= u}`` when every neuron has the rate of
    ``cdf`` (``cdf[0] = p0``, the CDF values of sources.count_table after it;
    ``cdf[saturated:]`` all equal its last value), branch-free; else the loop
    of sources.poisson_counts. Returns the number of neurons that fired;
    ``counts`` their multiplicities."""
    stamp = step + 1
    mixed_step = np.uint64(step) * _M2
    nf = 0
    if cdf.size > 0:
        top = cdf[cdf.size - 1]
        tail = cdf.size - saturated
        for j in range(gids.size):
            x = (np.uint64(gids[j]) * _GOLDEN) ^ mixed_step ^ key
            # 53 bits: exact through a signed integer (faster than unsigned)
            u = float(np.int64(_mix64(_mix64(x)) >> np.uint64(11))) * _TWO53
            count = 0
            for i in range(saturated):
                count += cdf[i] <= u
            count += tail * (top <= u)
            if not all_active:
                count *= (first[j] <= stamp) and (stamp <= last[j])
            fired[nf] = j
            counts[nf] = count
            nf += count > 0
        return nf
    for j in range(gids.size):
        x = (np.uint64(gids[j]) * _GOLDEN) ^ mixed_step ^ key
        u = float(np.int64(_mix64(_mix64(x)) >> np.uint64(11))) * _TWO53
        if u >= p0[j] and first[j] <= stamp and stamp <= last[j]:
            pmf = p0[j] * lam[j]
            cdf_j = p0[j] + pmf
            count = 1
            more = u >= cdf_j
            i = 1
            while more and i < 1000:
                i += 1
                pmf = pmf * lam[j] / i
                cdf_j = cdf_j + pmf
                count += 1
                more = u >= cdf_j
            fired[nf] = j
            counts[nf] = count
            nf += 1
    return nf


# -- the exchange's blocks (spinn.comm._BlocksNumpy does the same with numpy) ------------

@_jit
def _starts(counts):
    n_steps, n_pos = counts.shape
    start = np.empty((n_steps, n_pos), dtype=np.int64)
    acc = 0
    for j in range(n_steps):
        for p in range(n_pos):
            start[j, p] = acc
            acc += counts[j, p]
    return start


@_jit
def pack_blocks(counts, keys, out_pos, cap_out, block_out, send, total):
    """Each out-neighbour's block: its count of each step, then its keys step by
    step, as many as the block holds; ``total``: each neighbour's keys.
    Returns how many neighbours' keys did not all fit."""
    n_steps = counts.shape[0]
    start = _starts(counts)
    n_over = 0
    for i in range(out_pos.size):
        total[i] = 0
        p = out_pos[i]
        b = block_out[i]
        room = cap_out[i] - n_steps
        w = b + n_steps
        for j in range(n_steps):
            c = counts[j, p]
            send[b + j] = c
            total[i] += c
            a = start[j, p]
            for t in range(c):
                if room <= 0:
                    break
                send[w] = keys[a + t]
                w += 1
                room -= 1
        n_over += total[i] > cap_out[i] - n_steps
    return n_over


@_jit
def unpack_blocks(recv, block_in, cap_in, counts, keys, self_slot, total):
    """Per step, this rank's own keys then each in-neighbour's: ``(keys,
    step_ptr, n_over)``; ``total``: each in-neighbour's keys; ``n_over``: how
    many of them exceed their block (the keys are then incomplete: the caller
    completes them)."""
    n_steps = counts.shape[0]
    n_in = block_in.size
    total[:] = 0
    size = np.zeros(n_steps, dtype=np.int64)
    for q in range(n_in):
        for j in range(n_steps):
            h = np.int64(recv[block_in[q] + j])
            total[q] += h
            size[j] += h
    start = _starts(counts)
    if self_slot >= 0:
        for j in range(n_steps):
            size[j] += counts[j, self_slot]
    step_ptr = np.zeros(n_steps + 1, dtype=np.int64)
    for j in range(n_steps):
        step_ptr[j + 1] = step_ptr[j] + size[j]
    out = np.empty(step_ptr[n_steps], dtype=np.uint32)
    n_over = 0
    for q in range(n_in):
        n_over += total[q] > cap_in[q] - n_steps
    if n_over:
        return out, step_ptr, n_over
    at = step_ptr[:n_steps].copy()              # each step's next free place
    if self_slot >= 0:
        for j in range(n_steps):
            a = start[j, self_slot]
            for t in range(counts[j, self_slot]):
                out[at[j]] = keys[a + t]
                at[j] += 1
    for q in range(n_in):
        r = block_in[q] + n_steps
        for j in range(n_steps):
            h = np.int64(recv[block_in[q] + j])
            for t in range(h):
                out[at[j]] = recv[r + t]
                at[j] += 1
            r += h
    return out, step_ptr, 0
