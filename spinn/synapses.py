"""A rank's incoming synapses: generated per post block, stored as rows by source.

Layout (SpiNNaker's synaptic rows behind its master population table): a
*row* holds the synapses of one ``(source neuron, projection)`` pair on this
rank; rows are sorted by ``(source gid, projection id)``, so a received key
finds all its rows as one contiguous range. Per synapse the rank keeps

* ``offset`` (int32 where it fits, else int64): ``delay * stride + receptor *
  n_local + target``, its place in the ring buffer relative to the current
  slot (``stride = n_receptors * n_local``, see ``models.receptor_count``);
* its weight: a float64, or — when the rank's weights take few distinct
  values, as they do in most models — a uint8/uint16 index into a table of
  those values.

That is 5 to 12 bytes per static synapse; row pointers are per source.
Short-term synapses (:mod:`spinn.shortterm`) also keep their parameters
(``U``, ``tau_rec``, ...) per projection in the projection's synapse order
(its rows in order): one number where all synapses share it, else a float64
per synapse.

Generation runs twice over the blocks a rank needs (connectivity and values
come from keyed streams, so the second pass reproduces the first exactly):
pass 1 counts the synapses of every row and checks every value; pass 2
writes each synapse straight into its final place. No per-synapse temporary
outlives a block, so the build's peak memory is the final arrays plus one
block.

Canonical order: within a row, synapses are in block order, and within a
block by ``(post, pre)`` (multapses in generation order). Delivery adds a
spike's rows in this order, the same on every rank count and slicing.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .connectors import SYNAPSE_BLOCK, Geometry, Streams, blocks_of, block_range
from .csr import row_entries
from .errors import NetworkError
from .models import N_RECEPTORS, receptor_count
from .network import gid_index
from .values import Listed, RandomValue, frozen_array, is_homogeneous

__all__ = ["SynapseImage", "ProjectionPart", "build_synapses", "apply_update", "check_synapses",
           "block_values", "distinct_weights"]


@dataclass(frozen=True, eq=False)
class ProjectionPart:
    """What one rank holds of one projection.

    ``rows`` are its rows in the rank's CSR; ``posts`` its local post
    indices that have synapses, with ``post_first`` the place of each one's
    first synapse within its block's canonical list, and ``blocks`` /
    ``block_total`` the local blocks and their synapse counts over all posts
    (what a random ``Projection.set`` draws per block).
    """
    id: int
    label: str
    rows: np.ndarray
    n_synapses: int
    posts: np.ndarray
    post_first: np.ndarray
    blocks: np.ndarray
    block_total: np.ndarray


@dataclass(frozen=True, eq=False)
class SynapseImage:
    """The incoming synapses of one rank (see the module docstring)."""
    n_local: int
    source_gid: np.ndarray          # int64[S], sorted
    source_rows: np.ndarray         # int64[S + 1]: rows of source i
    row_projection: np.ndarray      # int32[R]
    row_ptr: np.ndarray             # int64[R + 1]
    offset: np.ndarray              # int32 or int64 [N]
    weight: np.ndarray | None       # float64[N], or None with a table
    weight_index: np.ndarray | None  # uint8/uint16 [N]
    weight_table: np.ndarray | None  # float64[K]
    n_slots: int
    parts: tuple = ()
    #: ``(projection id, name, values)`` of short-term parameters: a 0-d array
    #: (every synapse the same) or one value per synapse in projection order
    short_term: tuple = ()
    n_receptors: int = N_RECEPTORS   # rows of the receptor axis (models.receptor_count)

    @property
    def n_synapses(self) -> int:
        return int(self.offset.size)

    @property
    def stride(self) -> int:
        return self.n_receptors * self.n_local

    def weights(self, syn: np.ndarray) -> np.ndarray:
        if self.weight is not None:
            return self.weight[syn]
        return self.weight_table[self.weight_index[syn]]

    def all_weights(self) -> np.ndarray:
        if self.weight is not None:
            return self.weight
        return self.weight_table[self.weight_index]

    def delays(self, syn: np.ndarray) -> np.ndarray:
        """Delays in steps."""
        return self.offset[syn].astype(np.int64) // max(self.stride, 1)

    def targets(self, syn: np.ndarray) -> np.ndarray:
        """Local indices of the target neurons."""
        return self.offset[syn].astype(np.int64) % max(self.n_local, 1)

    def part(self, projection_id: int) -> ProjectionPart | None:
        for part in self.parts:
            if part.id == projection_id:
                return part
        return None

    def short_term_params(self, projection_id: int) -> dict:
        """Name -> values of a short-term projection's parameters (projection order)."""
        return {name: values for pid, name, values in self.short_term if pid == projection_id}

    def projection_order(self, projection_id: int, syn: np.ndarray) -> np.ndarray:
        """Places of CSR positions ``syn`` (synapses of the projection) in the
        projection's own synapse order (its rows in order)."""
        rows = self.part(projection_id).rows
        row = np.searchsorted(self.row_ptr, syn, side="right") - 1
        return _row_bases(rows, self.row_ptr)[np.searchsorted(rows, row)] + syn - \
            self.row_ptr[row]

    def nbytes(self) -> int:
        """Bytes held (arrays only)."""
        arrays = [self.source_gid, self.source_rows, self.row_projection, self.row_ptr,
                  self.offset, self.weight, self.weight_index, self.weight_table]
        arrays += [values for _, _, values in self.short_term]
        arrays += [a for p in self.parts for a in (p.rows, p.posts, p.post_first, p.blocks,
                                                     p.block_total)]
        return int(sum(a.nbytes for a in arrays if a is not None))


# -- values and checks ------------------------------------------------------------

def block_values(value, geometry: Geometry, connector, block, b: int) -> np.ndarray:
    """Weights or delays of the synapses of generation block ``b``, in block order."""
    n = len(block)
    if is_homogeneous(value):
        return np.full(n, float(value))
    if isinstance(value, RandomValue):
        return value.draw_block(b, n)
    if isinstance(value, Listed):
        return np.asarray(connector.column(value.column)[block.entry], dtype=np.float64)
    if isinstance(value, np.ndarray):
        return np.asarray(value[block.pre, block.post], dtype=np.float64)
    if hasattr(value, "evaluate"):           # a distance expression
        return np.asarray(value.evaluate(geometry, block.pre, block.post), dtype=np.float64)
    raise NetworkError(f"Projection '{geometry.label}': cannot evaluate a synaptic value "
                       f"of type {type(value).__name__}")


def distinct_weights(proj) -> np.ndarray | None:
    """The distinct weights a projection can have, if known without generating."""
    w = proj.weight
    if is_homogeneous(w):
        return np.array([float(w)])
    if isinstance(w, np.ndarray):
        return np.unique(w[np.isfinite(w)])
    if isinstance(w, Listed):
        return np.unique(proj.connector.column(w.column))
    return None


#: longest delay in steps: every target neuron holds one input slot per step
#: of the longest delay onto its rank (the ring buffer)
MAX_DELAY_STEPS = 1 << 16


def check_synapses(proj, w: np.ndarray, d_ms: np.ndarray, dt: float) -> None:
    """Weights finite and of the right sign; delays of at least one step."""
    label = proj.label
    if w.size:
        if not np.all(np.isfinite(w)):
            bad = w[~np.isfinite(w)][0]
            raise NetworkError(f"Projection '{label}': weight {bad} is not finite")
        if proj.weight_sign > 0 and w.min() < 0:
            raise NetworkError(
                f"Projection '{label}': weight {w.min():g} is negative, but weights onto "
                f"the '{proj.receptor_name}' receptor must be >= 0 "
                "(use receptor_type='inhibitory' with negative weights for current-based "
                "inhibition, positive weights for conductance-based)")
        if proj.weight_sign < 0 and w.max() > 0:
            raise NetworkError(
                f"Projection '{label}': weight {w.max():g} is positive, but inhibitory "
                "weights onto a current-based cell must be <= 0")
    if d_ms.size:
        if not np.all(np.isfinite(d_ms)):
            raise NetworkError(f"Projection '{label}': delay {d_ms[~np.isfinite(d_ms)][0]} ms "
                               "is not finite")
        dmin, dmax = float(np.min(d_ms)), float(np.max(d_ms))
        if dmin <= 0:
            raise NetworkError(
                f"Projection '{label}': delay {dmin:g} ms is not positive; "
                f"delays must be at least one timestep ({dt:g} ms)")
        if np.rint(dmin / dt) < 1:
            raise NetworkError(
                f"Projection '{label}': delay {dmin:g} ms is below the timestep "
                f"{dt:g} ms; delays must be at least one timestep")
        if np.rint(dmax / dt) > MAX_DELAY_STEPS:
            raise NetworkError(
                f"Projection '{label}': delay {dmax:g} ms is {np.rint(dmax / dt):.0f} steps; "
                f"spinn keeps delays of up to {MAX_DELAY_STEPS} steps "
                f"({MAX_DELAY_STEPS * dt:g} ms at the timestep {dt:g} ms): every neuron "
                "holds a slot of input per step of the longest delay")


def delay_steps(d_ms: np.ndarray, dt: float) -> np.ndarray:
    return np.rint(np.asarray(d_ms) / dt).astype(np.int64)


# -- the build -----------------------------------------------------------------------

class _Counts:
    """Pass 1 of one projection: synapses per pre index, per post, per block."""

    def __init__(self, proj, local_post: np.ndarray):
        self.proj = proj
        self.local_post = local_post
        self.blocks = blocks_of(local_post)
        self.per_pre = np.zeros(proj.n_pre, dtype=np.int64)
        self.block_total = np.zeros(self.blocks.size, dtype=np.int64)
        self.post_count = np.zeros(local_post.size, dtype=np.int64)
        self.post_first = np.zeros(local_post.size, dtype=np.int64)
        self.max_delay = 0
        self.n = 0


def _local_mask(local_post: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Which of posts ``[lo, hi)`` are local (a mask of length hi - lo)."""
    a, b = np.searchsorted(local_post, [lo, hi])
    mask = np.zeros(hi - lo, dtype=bool)
    mask[local_post[a:b] - lo] = True
    return mask


def _generate(proj, geometry, streams, b):
    lo, hi = block_range(b, proj.n_post)
    return lo, hi, proj.connector.generate(geometry, lo, hi, streams)


def _count(proj, geometry, local_post: np.ndarray, dt: float) -> _Counts:
    counts = _Counts(proj, local_post)
    streams = Streams(proj.seed, proj.id)
    scalar_delay = is_homogeneous(proj.delay)
    if scalar_delay:
        check_synapses(proj, np.zeros(0), np.array([float(proj.delay)]), dt)
        counts.max_delay = int(delay_steps(float(proj.delay), dt))
    if is_homogeneous(proj.weight):
        check_synapses(proj, np.array([float(proj.weight)]), np.zeros(0), dt)
    for i, b in enumerate(counts.blocks.tolist()):
        lo, hi, block = _generate(proj, geometry, streams, b)
        n = len(block)
        counts.block_total[i] = n
        if n == 0:
            continue
        per_post = np.bincount(block.post - lo, minlength=hi - lo)
        first = np.cumsum(per_post) - per_post
        a, z = np.searchsorted(local_post, [lo, hi])
        mine = local_post[a:z] - lo
        counts.post_count[a:z] = per_post[mine]
        counts.post_first[a:z] = first[mine]
        keep = _local_mask(local_post, lo, hi)[block.post - lo]
        w = (np.zeros(0) if is_homogeneous(proj.weight)
             else block_values(proj.weight, geometry, proj.connector, block, b)[keep])
        d = (np.zeros(0) if scalar_delay
             else block_values(proj.delay, geometry, proj.connector, block, b)[keep])
        check_synapses(proj, w, d, dt)
        if d.size:
            counts.max_delay = max(counts.max_delay, int(delay_steps(d, dt).max()))
        pre = block.pre[keep]
        np.add.at(counts.per_pre, pre, 1)
        counts.n += int(pre.size)
    return counts


def _rows(all_counts: list):
    """Rows of every projection sorted by (source gid, projection id); each
    projection's ``per_pre`` becomes the row index of each pre (or -1)."""
    gids, pids, lengths, owners = [], [], [], []
    for c in all_counts:
        nz = np.flatnonzero(c.per_pre)
        gids.append(np.asarray(c.proj.pre[nz], dtype=np.int64))
        pids.append(np.full(nz.size, c.proj.id, dtype=np.int64))
        lengths.append(c.per_pre[nz])
        owners.append(nz)
    cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype, copy=False) if parts
           else np.zeros(0, dtype))
    gid, pid, length = cat(gids, np.int64), cat(pids, np.int64), cat(lengths, np.int64)
    order = np.lexsort((pid, gid))
    row_of = np.empty(order.size, dtype=np.int64)
    row_of[order] = np.arange(order.size)
    start = 0
    for c, nz in zip(all_counts, owners):
        c.per_pre[:] = -1
        c.per_pre[nz] = row_of[start:start + nz.size]
        start += nz.size
    row_gid = gid[order]
    row_ptr = np.zeros(order.size + 1, dtype=np.int64)
    np.cumsum(length[order], out=row_ptr[1:])
    source_gid, first_row = np.unique(row_gid, return_index=True)
    source_rows = np.append(first_row, row_gid.size).astype(np.int64)
    return source_gid, source_rows, pid[order].astype(np.int32), row_ptr


def _weight_storage(projections, n: int):
    """Per-synapse weights as float64, or as indices into a table of the
    rank's distinct weights when those are known and few."""
    known = [distinct_weights(p) for p in projections]
    if all(k is not None for k in known):
        table = np.unique(np.concatenate(known)) if known else np.zeros(0)
        if table.size <= 255:
            return None, np.zeros(n, dtype=np.uint8), table
        if table.size <= 65535:
            return None, np.zeros(n, dtype=np.uint16), table
    return np.zeros(n, dtype=np.float64), None, None


def offset_dtype(n_slots: int, stride: int):
    return np.int32 if n_slots * max(stride, 1) < 2**31 else np.int64


def _row_bases(rows: np.ndarray, row_ptr: np.ndarray) -> np.ndarray:
    """Where each of ``rows`` (a projection's, ascending) starts in the
    projection's own synapse order: the synapses of the rows before it."""
    lengths = row_ptr[rows + 1] - row_ptr[rows]
    return np.cumsum(lengths) - lengths


class _ShortTermValues:
    """The short-term parameters of one projection's local synapses, filled
    block by block in pass 2 (numbers stay numbers)."""

    def __init__(self, proj, row_projection, row_ptr, n: int):
        self.proj = proj
        self.rows = np.flatnonzero(row_projection == proj.id)
        self.base = _row_bases(self.rows, row_ptr)
        self.row_ptr = row_ptr
        self.numbers, self.arrays = {}, {}
        for name, value in proj.short_term.values():
            if is_homogeneous(value):
                self.numbers[name] = float(value)
            else:
                self.arrays[name] = (value, np.empty(n))

    def block(self, geometry, block, b: int, keep, row, where) -> None:
        if not self.arrays:
            return
        pos = self.base[np.searchsorted(self.rows, row)] + where - self.row_ptr[row]
        for value, out in self.arrays.values():
            out[pos] = block_values(value, geometry, self.proj.connector, block, b)[keep]

    def result(self) -> tuple:
        from .shortterm import check_values
        out = []
        for name, number in self.numbers.items():
            check_values(self.proj.label, name, number)
            out.append((self.proj.id, name, np.asarray(number)))
        for name, (_, values) in self.arrays.items():
            check_values(self.proj.label, name, values)
            out.append((self.proj.id, name, values))
        return tuple(out)


def _place(proj, geometry, counts: _Counts, row_next, offset, weight, weight_index,
           weight_table, local_index, receptor_base, stride, dt, short_term=None):
    """Pass 2 of one projection: every local synapse into its row."""
    streams = Streams(proj.seed, proj.id)
    local_post = counts.local_post
    row_of_pre = counts.per_pre
    scalar_delay = is_homogeneous(proj.delay)
    if scalar_delay:
        delay_offset = int(delay_steps(float(proj.delay), dt)) * stride + receptor_base
    for b in counts.blocks.tolist():
        lo, hi, block = _generate(proj, geometry, streams, b)
        if len(block) == 0:
            continue
        mine = _local_mask(local_post, lo, hi)
        keep = mine[block.post - lo]
        row = row_of_pre[block.pre[keep]]
        # each synapse's place in its row: rows are filled in block order
        # (sorting (row, position) keys, unique, so no stable sort is needed)
        n = row.size
        key = np.sort(row * n + np.arange(n))
        sorted_rows, position = np.divmod(key, n)
        run_start = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
        run_length = np.diff(np.r_[run_start, n])
        where = np.empty(n, dtype=np.int64)
        where[position] = (row_next[sorted_rows]
                           + np.arange(n) - np.repeat(run_start, run_length))
        row_next[sorted_rows[run_start]] += run_length
        if short_term is not None:
            short_term.block(geometry, block, b, keep, row, where)
        # local index of each of the block's posts, looked up once per post
        block_local = np.zeros(hi - lo, dtype=np.int64)
        posts = np.flatnonzero(mine)
        block_local[posts] = local_index(np.asarray(proj.post[posts + lo], dtype=np.int64))
        target = block_local[block.post[keep] - lo]
        if scalar_delay:
            offset[where] = delay_offset + target
        else:
            d = block_values(proj.delay, geometry, proj.connector, block, b)[keep]
            offset[where] = delay_steps(d, dt) * stride + receptor_base + target
        if is_homogeneous(proj.weight) and weight is None:
            weight_index[where] = np.searchsorted(weight_table, float(proj.weight))
            continue
        w = block_values(proj.weight, geometry, proj.connector, block, b)[keep]
        if weight is not None:
            weight[where] = w
        else:
            weight_index[where] = np.searchsorted(weight_table, w)


def build_synapses(projections, neurons, dt: float, geometry_of, spec=None) -> SynapseImage:
    """The incoming synapses of one rank.

    Parameters
    ----------
    projections : sequence of ProjectionSpec
    neurons : spinn.build.LocalNeurons
        This rank's neurons: ``n``, ``gids``, ``index(gids)`` and
        ``post_indices(post_map)`` (sorted post indices this rank owns).
    dt : float
        Time step (ms).
    geometry_of : callable
        ``geometry_of(proj)`` -> :class:`~spinn.connectors.Geometry`.
    spec : NetworkSpec, optional
        The whole description: projections of fused sources
        (:mod:`spinn.fusion`) get no rows.
    """
    from .fusion import fused_projections
    n_local, local_index = neurons.n, neurons.index
    fused = set(fused_projections(spec).values()) if spec is not None else set()
    counted = []
    for proj in projections:
        if proj.id in fused:          # no rows: generated next to the targets
            continue
        local_post = neurons.post_indices(proj.post)
        if local_post.size:
            geometry = geometry_of(proj)
            counted.append((proj, geometry, _count(proj, geometry, local_post, dt)))
    all_counts = [c for _, _, c in counted]
    source_gid, source_rows, row_projection, row_ptr = _rows(all_counts)
    n = int(row_ptr[-1])
    n_slots = max([2] + [c.max_delay + 1 for c in all_counts])
    n_receptors = receptor_count(projections)
    stride = n_receptors * n_local
    offset = np.zeros(n, dtype=offset_dtype(n_slots, stride))
    weight, weight_index, weight_table = _weight_storage([p for p, _, _ in counted], n)
    row_next = row_ptr[:-1].copy()
    parts, short_term = [], []
    for proj, geometry, counts in counted:
        values = (_ShortTermValues(proj, row_projection, row_ptr, counts.n)
                  if proj.short_term is not None else None)
        _place(proj, geometry, counts, row_next, offset, weight, weight_index, weight_table,
               local_index, proj.receptor * n_local, stride, dt, values)
        if values is not None:
            short_term.extend(values.result())
        has = counts.post_count > 0
        rows = np.flatnonzero(row_projection == proj.id)
        parts.append(ProjectionPart(
            id=proj.id, label=proj.label, rows=rows, n_synapses=counts.n,
            posts=counts.local_post[has], post_first=counts.post_first[has],
            blocks=counts.blocks, block_total=counts.block_total))
        counts.per_pre = None          # free the per-pre row map now
    image = SynapseImage(
        n_local=n_local, source_gid=source_gid, source_rows=source_rows,
        row_projection=row_projection, row_ptr=row_ptr, offset=offset, weight=weight,
        weight_index=weight_index, weight_table=weight_table, n_slots=n_slots,
        parts=tuple(parts), short_term=tuple(short_term), n_receptors=n_receptors)
    for proj, geometry, _ in counted:
        for update in proj.updates:
            image = apply_update(image, proj, update, geometry, dt, neurons.gids)
    return _freeze(image)


def _freeze(image: SynapseImage) -> SynapseImage:
    for name in ("source_gid", "source_rows", "row_projection", "row_ptr", "offset", "weight",
                 "weight_index", "weight_table"):
        array = getattr(image, name)
        if array is not None:
            array.setflags(write=False)
    for _, _, values in image.short_term:
        values.setflags(write=False)
    return image


# -- reading and changing a projection's synapses ---------------------------------------

def projection_synapses(image: SynapseImage, proj, local_gids: np.ndarray):
    """A projection's local synapses: ``(syn, pre, post)`` in canonical order
    (by post, then pre, then generation order)."""
    part = image.part(proj.id)
    if part is None or part.n_synapses == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    syn = row_entries(image.row_ptr, part.rows)
    lengths = image.row_ptr[part.rows + 1] - image.row_ptr[part.rows]
    row_gid = image.source_gid[np.searchsorted(image.source_rows, part.rows, side="right") - 1]
    pre = np.repeat(gid_index(proj.pre, row_gid), lengths)
    post = gid_index(proj.post, local_gids[image.targets(syn)])
    order = np.lexsort((syn, pre, post))
    return syn[order], pre[order], post[order]


def _update_values(image, proj, update, geometry, syn, pre, post) -> np.ndarray:
    """The values of ``update`` for synapses ``syn`` (canonical order)."""
    value = update.value
    label = proj.label
    if is_homogeneous(value):
        return np.full(syn.size, float(value))
    if isinstance(value, np.ndarray):
        values = np.asarray(value[pre, post], dtype=np.float64)
        if np.isnan(values).any():
            raise NetworkError(f"Projection '{label}': the {update.attribute} array has NaN "
                               "where a connection exists")
        return values
    if isinstance(value, RandomValue):
        part = image.part(proj.id)
        # each synapse's place in its block's canonical list: its post's first
        # place plus its rank among that post's synapses
        group_start = np.flatnonzero(np.r_[True, post[1:] != post[:-1]]) if post.size else post
        sizes = np.diff(np.r_[group_start, post.size])
        rank_in_post = np.arange(post.size) - np.repeat(group_start, sizes)
        first = part.post_first[np.searchsorted(part.posts, post)]
        block = post // SYNAPSE_BLOCK
        values = np.empty(syn.size)
        for b, total in zip(part.blocks.tolist(), part.block_total.tolist()):
            mine = block == b
            if mine.any():
                drawn = value.draw_block(b, total)
                values[mine] = drawn[first[mine] + rank_in_post[mine]]
        return values
    if hasattr(value, "evaluate"):
        return np.asarray(value.evaluate(geometry, pre, post), dtype=np.float64)
    raise NetworkError(f"Projection '{label}': cannot set {update.attribute} from "
                       f"{type(value).__name__}")


def apply_update(image: SynapseImage, proj, update, geometry, dt: float,
                 local_gids: np.ndarray) -> SynapseImage:
    """``image`` with ``Projection.set(<attribute>=value)`` applied to ``proj``'s
    local synapses (a new image; the arrays that change are copied)."""
    syn, pre, post = projection_synapses(image, proj, local_gids)
    if syn.size == 0:
        return image
    values = _update_values(image, proj, update, geometry, syn, pre, post)
    if update.attribute not in ("weight", "delay"):
        return _set_short_term(image, proj, update.attribute, syn, values,
                               whole=is_homogeneous(update.value))
    if update.attribute == "weight":
        check_synapses(proj, values, np.zeros(0), dt)
        return replace_weights(image, syn, values)
    check_synapses(proj, np.zeros(0), values, dt)
    steps = delay_steps(values, dt)
    stride = image.stride
    n_slots = max(image.n_slots, int(steps.max()) + 1)
    offset = image.offset.astype(offset_dtype(n_slots, stride), copy=True)
    old = offset[syn].astype(np.int64)
    offset[syn] = old % max(stride, 1) + steps * stride
    return _freeze(replace(image, offset=offset, n_slots=n_slots))


def _set_short_term(image: SynapseImage, proj, name: str, syn, values,
                    whole: bool) -> SynapseImage:
    """``image`` with short-term parameter ``name`` of ``syn`` set to ``values``;
    ``whole``: one number for the whole projection (kept as one number: whether
    a parameter is one number or one per synapse follows from the description,
    not from the values a rank holds)."""
    from .shortterm import check_values
    check_values(proj.label, name, values)
    entries = list(image.short_term)
    for i, (pid, have, current) in enumerate(entries):
        if pid == proj.id and have == name:
            if whole:
                new = np.asarray(float(values[0]))
            else:
                n = image.part(pid).n_synapses
                new = np.broadcast_to(current, (n,)).astype(np.float64)
                new[image.projection_order(pid, syn)] = values
            entries[i] = (pid, name, new)
            return _freeze(replace(image, short_term=tuple(entries)))
    raise NetworkError(f"Projection '{proj.label}': its synapses have no parameter {name!r}")


def short_term_values(image: SynapseImage, projection_id: int, syn: np.ndarray,
                      name: str) -> np.ndarray:
    """Short-term parameter ``name`` of the synapses at CSR positions ``syn``."""
    values = image.short_term_params(projection_id).get(name)
    if values is None:
        return np.full(syn.size, np.nan)
    if values.ndim == 0:
        return np.full(syn.size, float(values))
    return values[image.projection_order(projection_id, syn)]


def replace_weights(image: SynapseImage, syn: np.ndarray, values: np.ndarray) -> SynapseImage:
    """``image`` with the weights of ``syn`` replaced by ``values``."""
    if image.weight is None:
        merged = np.union1d(image.weight_table, values)
        if merged.size <= np.iinfo(image.weight_index.dtype).max:
            table = merged
            index = np.searchsorted(table, image.weight_table)[image.weight_index]
            index = index.astype(image.weight_index.dtype)
            index[syn] = np.searchsorted(table, values)
            return _freeze(replace(image, weight_index=index, weight_table=frozen_array(table)))
        weight = image.weight_table[image.weight_index]
    else:
        weight = image.weight.copy()
    weight[syn] = values
    return _freeze(replace(image, weight=weight, weight_index=None, weight_table=None))

