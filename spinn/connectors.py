"""Connector expansion on the rank that owns the targets.

Like SpiNNaker's on-machine synapse expander, a rank turns compact connector
descriptions into the synapses that end on *its* neurons, and nothing else.
Randomness comes from one generator per block of :data:`~spinn.rng.BLOCK`
indices, keyed by ``(seed, projection id, block)``: a rank that needs a few
targets of a block generates the whole block and keeps its part, so the
synapses are the same whatever the slicing or the number of ranks.

Every generator returns ``(pre, post, weight, delay_ms)`` for the requested
post indices, in a canonical order (by post index, then by pre index, then
by generation order for multapses).
"""
from __future__ import annotations

import numpy as np

from .errors import NetworkError
from .network import ProjectionSpec, ValueSpec
from .rng import BLOCK, block_generator, draw

#: kind codes mixed into the block seeds (connectivity and values per block)
_PER_POST, _PER_PRE, _PER_ROW = 1, 2, 3
_MAX_DRAWS = 1 << 21     # uniform numbers drawn at once for fixed_probability


def _blocks_of(indices: np.ndarray) -> np.ndarray:
    return np.unique(indices // BLOCK)


def _select(pre, post, wanted_post):
    keep = np.isin(post, wanted_post, assume_unique=False)
    return pre[keep], post[keep], keep


def _no_self(proj, pre, post):
    keep = proj.pre_gids[pre] != proj.post_gids[post]
    return pre[keep], post[keep]


def _values(spec: ValueSpec, rng, pre, post, listed=None):
    """Weights or delays for generated connections, drawn after connectivity."""
    if spec.kind == "scalar":
        return np.full(pre.size, float(spec.value))
    if spec.kind == "array":
        return np.asarray(spec.value, dtype=np.float64)[pre, post]
    if spec.kind == "distribution":
        name, parameters = spec.value
        return draw(rng, name, parameters, pre.size)
    if spec.kind == "list":
        return np.asarray(listed, dtype=np.float64)
    raise NetworkError(f"unknown value kind {spec.kind!r}")


def _per_post_blocks(proj: ProjectionSpec, wanted: np.ndarray, connect_block):
    """Run ``connect_block(rng, lo, hi) -> (pre, post)`` per post block."""
    n_post = len(proj.post_gids)
    out = []
    for b in _blocks_of(wanted):
        lo, hi = int(b) * BLOCK, min(int(b + 1) * BLOCK, n_post)
        rng = block_generator(proj.connector.seed, proj.id, _PER_POST, b)
        pre, post = connect_block(rng, lo, hi)
        if not proj.connector.allow_self_connections:
            pre, post = _no_self(proj, pre, post)
        w = _values(proj.weight, rng, pre, post)
        d = _values(proj.delay, rng, pre, post)
        pre, post, keep = _select(pre, post, wanted)
        out.append((pre, post, w[keep], d[keep]))
    return out


def _all_to_all(proj, rng, lo, hi):
    n_pre = len(proj.pre_gids)
    post = np.repeat(np.arange(lo, hi, dtype=np.int64), n_pre)
    pre = np.tile(np.arange(n_pre, dtype=np.int64), hi - lo)
    return pre, post


def _fixed_probability(proj, rng, lo, hi):
    p = float(proj.connector.params["p_connect"])
    n_pre = len(proj.pre_gids)
    rows_per_draw = max(1, _MAX_DRAWS // max(n_pre, 1))
    pres, posts = [], []
    for r0 in range(lo, hi, rows_per_draw):
        r1 = min(hi, r0 + rows_per_draw)
        hit = rng.random((r1 - r0, n_pre)) < p
        post_off, pre = np.nonzero(hit)
        pres.append(pre.astype(np.int64))
        posts.append(post_off.astype(np.int64) + r0)
    return np.concatenate(pres), np.concatenate(posts)


def _choose(rng, proj, n, candidates, own_gid, side):
    """``n`` sorted indices into ``candidates`` (gids), skipping ``own_gid``
    when self-connections are not allowed; with or without replacement."""
    replace = bool(proj.connector.params.get("with_replacement", False))
    excluded = (np.flatnonzero(candidates == own_gid)
                if not proj.connector.allow_self_connections else np.zeros(0, np.int64))
    pool = candidates.size - excluded.size
    if not replace and n > pool:
        kind = "FixedNumberPreConnector" if side == "sources" else "FixedNumberPostConnector"
        raise NetworkError(
            f"Projection '{proj.label}': {kind}(n={n}) without replacement needs {n} "
            f"distinct {side} but only {pool} are available")
    chosen = rng.integers(0, pool, n) if replace else rng.choice(pool, n, replace=False)
    if excluded.size:
        # map indices of the reduced pool back onto the full candidate range
        chosen = chosen + np.searchsorted(excluded - np.arange(excluded.size), chosen,
                                          side="right")
    return np.sort(chosen).astype(np.int64)


def _fixed_number_pre(proj, rng, lo, hi):
    """Each target draws ``n`` sources (generated per post block)."""
    n = int(proj.connector.params["n"])
    pres = [_choose(rng, proj, n, proj.pre_gids, proj.post_gids[j], "sources")
            for j in range(lo, hi)]
    posts = np.repeat(np.arange(lo, hi, dtype=np.int64), n)
    return np.concatenate(pres), posts


def _fixed_number_post(proj: ProjectionSpec, wanted: np.ndarray):
    """Each pre neuron picks ``n`` targets: generated per *pre* block on every
    rank (each rank keeps the targets it owns)."""
    n = int(proj.connector.params["n"])
    n_pre = len(proj.pre_gids)
    out = []
    for b in range((n_pre + BLOCK - 1) // BLOCK):
        lo, hi = b * BLOCK, min((b + 1) * BLOCK, n_pre)
        rng = block_generator(proj.connector.seed, proj.id, _PER_PRE, b)
        posts = [_choose(rng, proj, n, proj.post_gids, proj.pre_gids[i], "targets")
                 for i in range(lo, hi)]
        pre = np.repeat(np.arange(lo, hi, dtype=np.int64), n)
        post = np.concatenate(posts)
        w = _values(proj.weight, rng, pre, post)
        d = _values(proj.delay, rng, pre, post)
        pre, post, keep = _select(pre, post, wanted)
        out.append((pre, post, w[keep], d[keep]))
    return out


def _one_to_one(proj: ProjectionSpec, wanted: np.ndarray):
    n = len(proj.pre_gids)
    if n != len(proj.post_gids):
        raise NetworkError(
            f"Projection '{proj.label}': OneToOneConnector needs pre and post of the "
            f"same size, got {n} and {len(proj.post_gids)}")

    def block(rng, lo, hi):
        idx = np.arange(lo, hi, dtype=np.int64)
        return idx, idx.copy()
    return _per_post_blocks(proj, wanted, block)


def _from_list(proj: ProjectionSpec, wanted: np.ndarray):
    conn = proj.connector.params["conn_list"]   # float array (K, >=2)
    out = []
    k = conn.shape[0]
    for b in range((k + BLOCK * 64 - 1) // (BLOCK * 64)):
        lo, hi = b * BLOCK * 64, min((b + 1) * BLOCK * 64, k)
        rng = block_generator(proj.connector.seed, proj.id, _PER_ROW, b)
        rows = conn[lo:hi]
        pre = rows[:, 0].astype(np.int64)
        post = rows[:, 1].astype(np.int64)
        w = _values(proj.weight, rng, pre, post,
                    listed=rows[:, proj.connector.params.get("weight_column", 2)]
                    if proj.weight.kind == "list" else None)
        d = _values(proj.delay, rng, pre, post,
                    listed=rows[:, proj.connector.params.get("delay_column", 3)]
                    if proj.delay.kind == "list" else None)
        if not proj.connector.allow_self_connections:
            keep = proj.pre_gids[pre] != proj.post_gids[post]
            pre, post, w, d = pre[keep], post[keep], w[keep], d[keep]
        pre, post, keep = _select(pre, post, wanted)
        out.append((pre, post, w[keep], d[keep]))
    return out


def _callback(proj: ProjectionSpec, wanted: np.ndarray):
    pre, post, w, d = proj.connector.params["generate"](wanted)
    w = _values(proj.weight, None, pre, post) if w is None else np.asarray(w, float)
    d = _values(proj.delay, None, pre, post) if d is None else np.asarray(d, float)
    return [(np.asarray(pre, np.int64), np.asarray(post, np.int64), w, d)]


def generate_synapses(proj: ProjectionSpec, wanted_post: np.ndarray):
    """Synapses of ``proj`` ending on the post indices ``wanted_post``.

    Returns
    -------
    pre, post : int64 arrays, indices in the projection's pre/post index space
    weight : float64 array (nA, µS or mV, PyNN units)
    delay_ms : float64 array (ms)
    """
    wanted = np.unique(np.asarray(wanted_post, dtype=np.int64))
    kind = proj.connector.kind
    if wanted.size == 0:
        parts = []
    elif kind == "all_to_all":
        parts = _per_post_blocks(proj, wanted, lambda r, lo, hi: _all_to_all(proj, r, lo, hi))
    elif kind == "fixed_probability":
        parts = _per_post_blocks(proj, wanted,
                                 lambda r, lo, hi: _fixed_probability(proj, r, lo, hi))
    elif kind == "fixed_number_pre":
        parts = _per_post_blocks(proj, wanted,
                                 lambda r, lo, hi: _fixed_number_pre(proj, r, lo, hi))
    elif kind == "fixed_number_post":
        parts = _fixed_number_post(proj, wanted)
    elif kind == "one_to_one":
        parts = _one_to_one(proj, wanted)
    elif kind == "from_list":
        parts = _from_list(proj, wanted)
    elif kind == "callback":
        parts = _callback(proj, wanted)
    else:
        raise NetworkError(f"Projection '{proj.label}': unknown connector kind {kind!r}")
    if not parts:
        e = np.zeros(0, np.int64)
        return e, e.copy(), np.zeros(0), np.zeros(0)
    pre, post, w, d = (np.concatenate(x) for x in zip(*parts))
    order = np.lexsort((pre, post))       # by post, then pre; stable for multapses
    return pre[order], post[order], w[order], d[order]
