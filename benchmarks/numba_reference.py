"""A compiled single-core reference: the benchmark networks in one numba loop.

    python benchmarks/numba_reference.py brunel --tstop 1000
    python benchmarks/numba_reference.py cuba --tstop 1000

Not spinn: the same networks (benchmarks/networks.py) written as plainly and
as fast as one core allows (exact LIF propagators, CSR rows by source, one
ring buffer, Poisson drive drawn in the loop), to measure how far numpy is
from compiled code on the same work: the "Performance" issue asks for a
compiled path in spinn only if numpy stays more than 2x behind this.
Prints one JSON line with the simulate time and the rate.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from networks import BRUNEL, CUBA, NETWORKS  # noqa: E402

DT = 0.1


def bernoulli_csr(rng, n_pre, post_lo, n_post, p, no_self_offset=None):
    """CSR by source of an Erdos-Renyi block (targets post_lo + j)."""
    rows = []
    for i in range(n_pre):
        targets = np.flatnonzero(rng.random(n_post) < p)
        if no_self_offset is not None:
            targets = targets[targets + no_self_offset != i]
        rows.append(targets + post_lo)
    ptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum([r.size for r in rows], out=ptr[1:])
    return ptr, np.concatenate(rows).astype(np.int32)


@numba.njit(cache=True)
def run_delta(n, n_exc, ptr_e, tgt_e, ptr_i, tgt_i, j, g, d_steps, drive_lam, v0, steps,
              v_thresh, v_reset, ref_steps, decay, seed):
    np.random.seed(seed)
    ring = np.zeros((d_steps + 1, n))
    v = v0.copy()
    refr = np.zeros(n, dtype=np.int64)
    spikes = 0
    fired = np.empty(n, dtype=np.int64)
    for k in range(steps):
        slot = k % (d_steps + 1)
        nf = 0
        for i in range(n):
            drive = np.random.poisson(drive_lam) * j
            if refr[i] > 0:
                refr[i] -= 1
            else:
                v[i] = v[i] * decay + ring[slot, i] + drive
                if v[i] >= v_thresh:
                    v[i] = v_reset
                    refr[i] = ref_steps
                    fired[nf] = i
                    nf += 1
            ring[slot, i] = 0.0
        spikes += nf
        out = (k + d_steps) % (d_steps + 1)
        for f in range(nf):
            i = fired[f]
            if i < n_exc:
                for s in range(ptr_e[i], ptr_e[i + 1]):
                    ring[out, tgt_e[s]] += j
            else:
                i2 = i - n_exc
                for s in range(ptr_i[i2], ptr_i[i2 + 1]):
                    ring[out, tgt_i[s]] -= g * j
    return spikes


@numba.njit(cache=True)
def run_exp(n, n_exc, ptr_e, tgt_e, ptr_i, tgt_i, w_e, w_i, v0, steps, v_rest, v_thresh,
            v_reset, ref_steps, decay_v, dec_e, dec_i, to_v_e, to_v_i, stim_ptr, stim_tgt,
            stim_w, stim_lam, stim_steps, seed):
    np.random.seed(seed)
    ring_e = np.zeros((2, n))
    ring_i = np.zeros((2, n))
    v = v0.copy()
    ie = np.zeros(n)
    ii = np.zeros(n)
    refr = np.zeros(n, dtype=np.int64)
    spikes = 0
    fired = np.empty(n, dtype=np.int64)
    for k in range(steps):
        slot = k % 2
        nf = 0
        for i in range(n):
            if refr[i] > 0:
                refr[i] -= 1
            else:
                v[i] = v_rest + decay_v * (v[i] - v_rest) + to_v_e * ie[i] + to_v_i * ii[i]
            ie[i] = ie[i] * dec_e + ring_e[slot, i]
            ii[i] = ii[i] * dec_i + ring_i[slot, i]
            ring_e[slot, i] = 0.0
            ring_i[slot, i] = 0.0
            if v[i] >= v_thresh:
                v[i] = v_reset
                refr[i] = ref_steps
                fired[nf] = i
                nf += 1
        spikes += nf
        out = (k + 1) % 2
        for f in range(nf):
            i = fired[f]
            if i < n_exc:
                for s in range(ptr_e[i], ptr_e[i + 1]):
                    ring_e[out, tgt_e[s]] += w_e
            else:
                i2 = i - n_exc
                for s in range(ptr_i[i2], ptr_i[i2 + 1]):
                    ring_i[out, tgt_i[s]] += w_i
        if k < stim_steps:
            for src in range(stim_ptr.size - 1):
                if np.random.random() < stim_lam:
                    for s in range(stim_ptr[src], stim_ptr[src + 1]):
                        ring_e[out, stim_tgt[s]] += stim_w
    return spikes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("network", choices=sorted(NETWORKS))
    parser.add_argument("--tstop", type=float, default=1000.0)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    steps = int(round(args.tstop / DT))
    if args.network.startswith("brunel"):
        b, c = BRUNEL, BRUNEL["cell"]
        scale = NETWORKS[args.network][1].get("scale", 1.0)
        n_exc, n_inh = int(b["n_exc"] * scale), int(b["n_inh"] * scale)
        n = n_exc + n_inh
        ptr_e, tgt_e = bernoulli_csr(rng, n_exc, 0, n, b["c_e"] / n_exc, no_self_offset=0)
        ptr_i, tgt_i = bernoulli_csr(rng, n_inh, 0, n, b["c_i"] / n_inh, no_self_offset=-n_exc)
        args_ = (n, n_exc, ptr_e, tgt_e, ptr_i, tgt_i, b["j"], b["g"],
                 int(round(b["delay"] / DT)), b["drive_hz"] * DT / 1000.0,
                 rng.uniform(0.0, 20.0, n), steps, c["v_thresh"], c["v_reset"],
                 int(round(c["tau_refrac"] / DT)), math.exp(-DT / c["tau_m"]), 7)
        run_delta(*args_[:11], 10, *args_[12:])          # compile
        t0 = time.perf_counter()
        spikes = run_delta(*args_)
    else:
        cu, c = CUBA, CUBA["cell"]
        n = cu["n"]
        n_exc = int(n * 0.8)
        ptr_e, tgt_e = bernoulli_csr(rng, n_exc, 0, n, cu["p"])
        ptr_i, tgt_i = bernoulli_csr(rng, n - n_exc, 0, n, cu["p"])
        stim_ptr, stim_tgt = bernoulli_csr(rng, cu["stim"], 0, n, cu["stim_p"])
        tau_m, cm = c["tau_m"], c["cm"]

        def to_v(tau_s):
            return (-math.expm1(DT / tau_m - DT / tau_s) * math.exp(-DT / tau_m)
                    * tau_s * tau_m / (cm * (tau_m - tau_s)))
        args_ = (n, n_exc, ptr_e, tgt_e, ptr_i, tgt_i, cu["w_exc"], cu["w_inh"],
                 rng.uniform(-60.0, -50.0, n), steps, c["v_rest"], c["v_thresh"],
                 c["v_reset"], int(round(c["tau_refrac"] / DT)), math.exp(-DT / tau_m),
                 math.exp(-DT / c["tau_syn_E"]), math.exp(-DT / c["tau_syn_I"]),
                 to_v(c["tau_syn_E"]), to_v(c["tau_syn_I"]), stim_ptr, stim_tgt, cu["stim_w"],
                 cu["stim_rate"] * DT / 1000.0, int(round(cu["stim_duration"] / DT)), 7)
        run_exp(*args_[:9], 10, *args_[10:])
        t0 = time.perf_counter()
        spikes = run_exp(*args_)
    wall = time.perf_counter() - t0
    print(json.dumps({"simulator": "numba reference", "ranks": 1, "network": args.network,
                      "neurons": n, "simulate_s": wall, "spikes": int(spikes),
                      "rate_hz": spikes / n / (args.tstop / 1000.0),
                      "realtime_factor": wall / (args.tstop / 1000.0)}))


if __name__ == "__main__":
    main()
