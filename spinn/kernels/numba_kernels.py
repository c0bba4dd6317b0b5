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
def lif_exp_step(v, ie, ii, refr, i_inj, c, ref_steps, exc, inh, fired):
    """IF_curr_exp: rows of c: v_rest, current_to_v, i_offset, decay_v, v_thresh,
    v_reset, to_v0, to_v1, decay0, decay1."""
    nf = 0
    for j in range(v.size):
        if refr[j] == 0:
            u = v[j] - c[0, j]
            a = c[1, j] * (c[2, j] + i_inj[j])
            b = c[3, j] * u
            m = c[6, j] * ie[j] + c[7, j] * ii[j]
            v[j] = ((a + b) + m) + c[0, j]
        else:
            refr[j] -= 1
        ie[j] = ie[j] * c[8, j] + exc[j]
        ii[j] = ii[j] * c[9, j] + inh[j]
        if v[j] >= c[4, j]:
            v[j] = c[5, j]
            refr[j] = ref_steps[j]
            fired[nf] = j
            nf += 1
    return nf


@_jit
def lif_delta_step(v, refr, i_inj, c, ref_steps, exc, inh, fired):
    """IF_curr_delta: rows of c: v_rest, current_to_v, i_offset, decay_v,
    v_thresh, v_reset. Input arriving while refractory is discarded."""
    nf = 0
    for j in range(v.size):
        integrating = refr[j] == 0
        if integrating:
            u = v[j] - c[0, j]
            a = c[1, j] * (c[2, j] + i_inj[j])
            b = c[3, j] * u
            v[j] = ((a + b) + 0.0) + c[0, j]
        else:
            refr[j] -= 1
        v[j] = v[j] + ((exc[j] + inh[j]) if integrating else 0.0)
        if v[j] >= c[4, j]:
            v[j] = c[5, j]
            refr[j] = ref_steps[j]
            fired[nf] = j
            nf += 1
    return nf


@_jit
def lif_alpha_step(v, ie, ii, rise0, rise1, refr, i_inj, c, ref_steps, exc, inh, fired):
    """IF_curr_alpha: rows of c: v_rest, current_to_v, i_offset, decay_v,
    v_thresh, v_reset, to_v0, to_v1, decay0, decay1, rise_to_v0, rise_to_v1,
    rise_to_current0, rise_to_current1, jump0, jump1."""
    nf = 0
    for j in range(v.size):
        if refr[j] == 0:
            u = v[j] - c[0, j]
            a = c[1, j] * (c[2, j] + i_inj[j])
            b = c[3, j] * u
            m = ((c[10, j] * rise0[j] + c[6, j] * ie[j]) + c[11, j] * rise1[j]) \
                + c[7, j] * ii[j]
            v[j] = ((a + b) + m) + c[0, j]
        else:
            refr[j] -= 1
        ie[j] = ie[j] * c[8, j]
        ie[j] = ie[j] + c[12, j] * rise0[j]
        rise0[j] = rise0[j] * c[8, j]
        rise0[j] = rise0[j] + c[14, j] * exc[j]
        ii[j] = ii[j] * c[9, j]
        ii[j] = ii[j] + c[13, j] * rise1[j]
        rise1[j] = rise1[j] * c[9, j]
        rise1[j] = rise1[j] + c[15, j] * inh[j]
        if v[j] >= c[4, j]:
            v[j] = c[5, j]
            refr[j] = ref_steps[j]
            fired[nf] = j
            nf += 1
    return nf


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
