"""The dynamic state of a simulation in model coordinates, not rank coordinates.

A rank's runtime keeps its state in its own index spaces (local neuron
indices, CSR positions, ring slots). :func:`export_runtime` turns it into
*tables* keyed by what the model is made of, the same whatever the number
of ranks or the slicing:

* ``cell/<model>``: per-neuron arrays (membrane state, refractory counters,
  hidden synaptic state, ...: columns ``=<name>``) by global id (``gid``: a
  population's ``first_gid + index``);
* ``ring``: input in flight, by arrival step, target ``gid`` and receptor;
* ``plastic`` and ``short_term``: per-synapse weights, traces and
  short-term state (with the short-term parameters) by synapse identity
  ``(proj, pre, post, k)`` (global ids; ``k`` numbers repeated pairs in
  generation order);
* ``pending_pre`` / ``pending_post``: plastic events not yet seen by their
  synapses (axonal / dendritic delays), by step and synapse identity;
* ``spikes`` and ``signal/<pop>/<variable>``: what was recorded so far.

Counter-based streams (Poisson sources, noisy currents) are functions of the
step, so the step is their whole state. :func:`redistribute` moves tables to
the ranks that hold their neurons under another mapping (typed ``alltoallv``;
nothing per neuron is sent to every rank) and :func:`import_runtime` writes
them into a runtime. Checkpoints (:mod:`spinn.checkpoint`) and a network
that grows between runs are built on these three functions.
"""
from __future__ import annotations

import numpy as np

from .errors import SpinnError
from .models import dynamic_state
from .shortterm import PARAMETERS as SHORT_TERM_PARAMETERS, STATE as SHORT_TERM_STATE

__all__ = ["export_runtime", "import_runtime", "redistribute", "merge", "StateError"]

#: the per-synapse traces of a plastic synapse
TRACES = ("x_after", "x_before", "x_time", "y_after", "y_before", "y_time")


class StateError(SpinnError, ValueError):
    """Saved state does not fit the network it is restored into."""


Tables = dict   # name -> {column: np.ndarray}


def _add(tables: Tables, name: str, **columns) -> None:
    columns = {c: np.asarray(v) for c, v in columns.items()}
    have = tables.get(name)
    if have is None:
        tables[name] = columns
    else:
        for c, v in columns.items():
            have[c] = np.concatenate((have[c], v))


def merge(parts: list) -> Tables:
    """One table set from several (columns concatenated in the order given)."""
    out: Tables = {}
    for tables in parts:
        for name, columns in tables.items():
            _add(out, name, **columns)
    return out


# -- synapse identities -----------------------------------------------------------------

def synapse_identity(rt, csr: np.ndarray):
    """``(proj, pre gid, post gid, k)`` of the rank's synapses at CSR positions ``csr``."""
    return identity_of(rt.image.synapses, rt.image.local_gids, csr)


def identity_of(syn, local_gids, csr: np.ndarray):
    """``(proj, pre gid, post gid, k)`` of synapses at CSR positions ``csr`` of a
    :class:`~spinn.synapses.SynapseImage` whose targets are ``local_gids``."""
    csr = np.asarray(csr, dtype=np.int64)
    row = np.searchsorted(syn.row_ptr, csr, side="right") - 1
    proj = syn.row_projection[row].astype(np.int64)
    source = np.searchsorted(syn.source_rows, row, side="right") - 1
    pre = syn.source_gid[source].astype(np.int64)
    post = np.asarray(local_gids)[syn.targets(csr)].astype(np.int64)
    # k: the synapse's number among those of its (proj, pre, post), in CSR order
    order = np.lexsort((csr, post, pre, proj))
    k = np.zeros(csr.size, dtype=np.int64)
    if csr.size:
        p, a, b = proj[order], pre[order], post[order]
        new = np.r_[True, (p[1:] != p[:-1]) | (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
        start = np.maximum.accumulate(np.where(new, np.arange(csr.size), 0))
        k[order] = np.arange(csr.size) - start
    return proj, pre, post, k


def match_synapses(mine: tuple, table: dict, what: str) -> tuple:
    """Positions ``(i, j)`` such that this rank's synapse ``i`` (identities
    ``mine``) is the table's row ``j``. Every row must find its synapse."""
    n_mine, n_rows = mine[0].size, table["proj"].size
    if n_rows == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e
    cols = [np.concatenate((m, table[c])) for m, c in zip(mine, ("proj", "pre", "post", "k"))]
    side = np.r_[np.zeros(n_mine, np.int8), np.ones(n_rows, np.int8)]
    order = np.lexsort((side, cols[3], cols[2], cols[1], cols[0]))
    theirs = np.flatnonzero(side[order] == 1)
    # the nearest synapse of ours before each row in that order (rows may repeat)
    last = np.maximum.accumulate(np.where(side[order] == 0, np.arange(order.size), -1))
    prev = last[theirs]
    ok = prev >= 0
    a, b = order[prev[ok]], order[theirs[ok]]
    ok[ok] = np.all([c[a] == c[b] for c in cols], axis=0)
    if not ok.all():
        j = order[theirs[~ok][0]] - n_mine
        raise StateError(
            f"saved {what} of a synapse of projection {int(table['proj'][j])} from neuron "
            f"{int(table['pre'][j])} to {int(table['post'][j])} (#{int(table['k'][j])}) has no "
            "such synapse in this network: the state was saved from another network")
    return order[prev], order[theirs] - n_mine


# -- export ---------------------------------------------------------------------------

def export_runtime(rt, next_step: int, *, recording: bool = True) -> Tables:
    """Rank ``rt``'s dynamic state as tables (see the module docstring);
    ``next_step``: the first step not yet simulated."""
    out: Tables = {}
    groups = ([(slot.group, slot.model_name) for slot in rt.slots]
              + [(f.group, f.image.model) for f in rt.fused])  # replicas: their owner has them
    for group, model in groups:
        gids = np.asarray(group.gids, dtype=np.int64)
        columns = {}
        for name, array in dynamic_state(group).items():
            array = np.asarray(array)
            if array.shape != gids.shape:
                raise StateError(f"{model}: state '{name}' is not one value per neuron")
            columns[f"={name}"] = array.copy()
        if columns:
            _add(out, f"cell/{model}", gid=gids, **columns)
    # input in flight: ring[slot, receptor, neuron], slot t % n_slots for steps t >= next_step
    ring = rt.ring.reshape(rt.n_slots, rt.n_receptors, rt.n_local)
    slot, receptor, local = np.nonzero((ring != 0.0) | np.signbit(ring))
    arrival = next_step + (slot - next_step) % rt.n_slots
    _add(out, "ring", gid=np.asarray(rt.image.local_gids, np.int64)[local],
         step=arrival.astype(np.int64), receptor=receptor.astype(np.int64),
         value=ring[slot, receptor, local])
    if rt.plasticity is not None:
        _export_plasticity(rt, out)
    if rt.short_term is not None:
        st = rt.short_term
        ident = dict(zip(("proj", "pre", "post", "k"), synapse_identity(rt, st.space.csr)))
        columns = [pp.columns() for pp in st.projections]
        values = {f"={name}": np.concatenate([c[name] for c in columns])
                  if columns else np.zeros(0)
                  for name in SHORT_TERM_STATE + SHORT_TERM_PARAMETERS}
        _add(out, "short_term", **ident, **values)
    if recording:
        _export_recording(rt, out)
    return out


def _export_plasticity(rt, out: Tables) -> None:
    pl = rt.plasticity
    space = pl.space
    proj, pre, post, k = synapse_identity(rt, space.csr)
    ident = dict(proj=proj, pre=pre, post=post, k=k)
    values = {"=weight": pl.weight.copy()}
    for name in TRACES:
        trace, field = name.split("_")
        values[f"={name}"] = np.concatenate([getattr(getattr(pp, trace), field)
                                             for pp in pl.projections])
    _add(out, "plastic", **ident, **values)
    for name, pending, seen in (("pending_pre", pl.pending_pre, pl.delay_seen_pre),
                                ("pending_post", pl.pending_post, pl.delay_seen_post)):
        for step, entries in sorted(pending.items()):
            for entry in entries:
                index = entry[0] if name == "pending_pre" else entry
                index = np.asarray(index, dtype=np.int64)
                _add(out, name, step=np.full(index.size, step, dtype=np.int64),
                     created=step - seen[index], proj=proj[index], pre=pre[index],
                     post=post[index], k=k[index], value=np.arange(index.size, dtype=np.int64))


def _export_recording(rt, out: Tables) -> None:
    rec = rt.recorder
    gids, stamps = rec.select_spikes(0, np.iinfo(np.int64).max)
    _add(out, "spikes", gid=gids, step=stamps)
    keys = set(rec.signals)
    if rec.sink is not None:
        keys |= {(r["pop"], r["var"]) for r in rec.sink.chunks() if r["kind"] == "signal"}
    for pid, variable in sorted(keys):
        gids, stamps, values = rec.signal_triples(pid, variable)
        _add(out, f"signal/{pid}/{variable}", gid=gids, step=stamps, value=values)


# -- moving tables between ranks -------------------------------------------------------

def _encode(array: np.ndarray) -> np.ndarray:
    """Eight bytes per value, as int64 (floats bit for bit)."""
    array = np.ascontiguousarray(array)
    if array.dtype == np.float64:
        return array.view(np.int64)
    return array.astype(np.int64)


def _decode(array: np.ndarray, dtype: str) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return np.ascontiguousarray(array, dtype=np.int64).view(np.float64)
    return array.astype(dtype)


def redistribute(exchange, local_tables: list, owner_of) -> list:
    """Move each table row to the rank that owns it (collective).

    ``local_tables[i]``: the tables held by this process's ``i``-th hosted
    rank (any rows; on a restore, what this process read from files).
    ``owner_of(name, columns)``: the destination rank of each row. Returns the
    tables each hosted rank now holds, rows from lower source ranks first.
    """
    layout = {}
    for tables in local_tables:
        for name, columns in tables.items():
            layout[name] = tuple((c, str(v.dtype)) for c, v in sorted(columns.items()))
    every = {}
    for theirs in exchange.allgather(layout):
        for name, cols in theirs.items():
            if every.setdefault(name, cols) != cols and len(every[name]) == len(cols):
                # the same column in another dtype elsewhere: keep the float one
                every[name] = tuple(max(a, b, key=lambda x: x[1] == "float64")
                                    for a, b in zip(every[name], cols))
    n_ranks = exchange.n_ranks
    received = [dict() for _ in local_tables]
    for name in sorted(every):
        cols = every[name]
        dest = []
        for tables in local_tables:
            columns = tables.get(name)
            dest.append(np.zeros(0, np.int64) if columns is None
                        else np.asarray(owner_of(name, columns), dtype=np.int64))
        for column, dtype in cols:
            sends = []
            for tables, d in zip(local_tables, dest):
                columns = tables.get(name)
                data = (_encode(columns[column]) if columns is not None
                        else np.zeros(0, np.int64))
                order = np.argsort(d, kind="stable")
                cuts = np.searchsorted(d[order], np.arange(n_ranks + 1))
                data = data[order]
                sends.append([data[cuts[r]:cuts[r + 1]] for r in range(n_ranks)])
            got = exchange.alltoallv(sends)
            for i, parts in enumerate(got):
                values = np.concatenate(parts) if parts else np.zeros(0, np.int64)
                received[i].setdefault(name, {})[column] = _decode(values, dtype)
    return received


# -- import ---------------------------------------------------------------------------

def import_runtime(rt, tables: Tables, next_step: int, *, keep: frozenset = frozenset(),
                   strict: bool = True) -> None:
    """Write ``tables`` (this rank's rows) into runtime ``rt``, which starts
    at ``next_step``. ``keep``: ``(population id, variable)`` pairs and
    ``("proj", id)`` entries whose values the runtime already has and must
    keep (set between runs by ``initialize()`` / ``Projection.set``).
    ``strict``: every neuron and synapse of the runtime must be in the
    tables (a restore); otherwise new ones keep their initial state (growth).
    """
    groups = ([(slot.group, slot.model_name, slot) for slot in rt.slots]
              + [(f.group, f.image.model, None) for f in rt.fused])
    for group, model, slot in groups:
        gids = np.asarray(group.gids, dtype=np.int64)
        table = tables.get(f"cell/{model}")
        for name, array in dynamic_state(group).items():
            if table is not None and f"={name}" not in table:
                raise StateError(f"no saved '{name}' for the {model} neurons: the state was "
                                 "saved from another network")
            have = _lookup(table, gids)
            if strict and not have[0].all():
                missing = gids[~have[0]][0]
                raise StateError(f"no saved '{name}' for neuron {int(missing)} ({model}): "
                                 "the state was saved from another network")
            found, rows = have
            if slot is not None and keep:
                variable = name.split("/", 1)[1] if name.startswith("state/") else None
                for pid, lo, hi, _ in slot.populations:
                    if (pid, variable) in keep:
                        found &= ~((gids >= lo) & (gids < hi))
            if found.any():
                values = table[f"={name}"][rows[found]]
                array[found] = values.astype(array.dtype, copy=False)
        if hasattr(group, "state_written"):
            group.state_written()
    ring = tables.get("ring")
    rt.ring[:] = 0.0
    if ring is not None and ring["gid"].size:
        span = int(ring["step"].max()) - next_step + 1
        if span > rt.n_slots:
            rt.ring = np.zeros(span * rt.stride)
            rt.n_slots = span
        local = rt.neurons.index(ring["gid"])
        pos = ((ring["step"] % rt.n_slots) * rt.n_receptors + ring["receptor"]) * rt.n_local + local
        rt.ring[pos] = ring["value"]
    rt.current_step = next_step - 1
    if rt.plasticity is not None:
        _import_plasticity(rt, tables, keep, strict)
    if rt.short_term is not None:
        st = rt.short_term
        mine = synapse_identity(rt, st.space.csr)
        table = tables.get("short_term")
        if table is None and strict and st.space.n:
            raise StateError("the saved state has no short-term synapse state")
        i, j = (match_synapses(mine, table, "short-term state") if table is not None
                else (np.zeros(0, np.int64),) * 2)
        for name in SHORT_TERM_STATE if table is not None else ():
            if f"={name}" not in table:
                continue            # (saved before the column existed: its initial value)
            values = np.concatenate([getattr(pp, name) for pp in st.projections])
            values[i] = table[f"={name}"][j]
            for pp, a, b in zip(st.projections, st.space.bases[:-1], st.space.bases[1:]):
                getattr(pp, name)[:] = values[a:b]
        if table is not None and strict:
            _import_short_term_parameters(st, table, i, j)
    _import_recording(rt, tables)
    rt.recorder.resample(next_step)


def _import_short_term_parameters(st, table, i, j) -> None:
    """A restore: every short-term synapse takes its saved parameters (the
    network's description gives the same values; a checkpoint carries them
    all the same, so what was simulated is what is restored)."""
    for pp, a, b in zip(st.projections, st.space.bases[:-1], st.space.bases[1:]):
        mine = (i >= a) & (i < b)
        if not mine.any():
            continue
        params = {}
        for name, current in pp.params.items():
            if f"={name}" not in table:
                params[name] = current
                continue
            values = np.broadcast_to(current, (pp.n,)).astype(np.float64)
            values[i[mine] - a] = table[f"={name}"][j[mine]]
            # one number stays one number where the saved values are that number
            same = current.ndim == 0 and bool(np.all(values == current))
            params[name] = current if same else values
        pp.use(params)


def _lookup(table, gids: np.ndarray):
    """``(found, row)``: which ``gids`` the table has, and their rows."""
    if table is None or table["gid"].size == 0:
        return np.zeros(gids.size, dtype=bool), np.zeros(gids.size, dtype=np.int64)
    order = np.argsort(table["gid"], kind="stable")
    keys = table["gid"][order]
    pos = np.minimum(np.searchsorted(keys, gids), keys.size - 1)
    return keys[pos] == gids, order[pos]


def _import_plasticity(rt, tables: Tables, keep, strict: bool) -> None:
    pl = rt.plasticity
    space = pl.space
    mine = synapse_identity(rt, space.csr)
    kept = np.zeros(space.n, dtype=bool)
    for j, pid in enumerate(space.ids):
        if ("proj", pid) in keep:
            kept[space.bases[j]:space.bases[j + 1]] = True
    table = tables.get("plastic")
    if table is None and strict and space.n:
        raise StateError("the saved state has no plastic synapse state")
    i, j = (match_synapses(mine, table, "plastic state") if table is not None
            else (np.zeros(0, np.int64),) * 2)
    if strict and i.size != space.n:
        raise StateError(f"the saved state has plastic state for {i.size} of this rank's "
                         f"{space.n} plastic synapses: saved from another network")
    if table is not None:
        use = ~kept[i]
        pl.weight[i[use]] = table["=weight"][j[use]]
    for name in TRACES if table is not None else ():
        trace, field = name.split("_")
        values = np.concatenate([getattr(getattr(pp, trace), field) for pp in pl.projections])
        values[i] = table[f"={name}"][j]
        for pp, a, b in zip(pl.projections, space.bases[:-1], space.bases[1:]):
            getattr(getattr(pp, trace), field)[:] = values[a:b]
    pl.pending_pre, pl.pending_post = {}, {}
    for name in ("pending_pre", "pending_post"):
        table = tables.get(name)
        if table is None or table["step"].size == 0:
            continue
        i, j = match_synapses(mine, table, "pending plastic event")
        # canonical order: by step, creating step, source, projection, pair number
        t = {c: table[c][j] for c in ("step", "created", "pre", "proj", "post", "k", "value")}
        order = np.lexsort((t["value"], t["k"], t["post"], t["proj"], t["pre"], t["created"],
                            t["step"]))
        index, steps = i[order], t["step"][order]
        cuts = np.flatnonzero(np.r_[True, steps[1:] != steps[:-1], True])
        for a, b in zip(cuts[:-1], cuts[1:]):
            step = int(steps[a])
            if name == "pending_pre":
                pl.pending_pre[step] = [(index[a:b], True)]
            else:
                pl.pending_post[step] = [index[a:b]]


def _import_recording(rt, tables: Tables) -> None:
    spikes = tables.get("spikes")
    signals = {}
    for name, table in tables.items():
        if name.startswith("signal/"):
            _, pid, variable = name.split("/", 2)
            signals[(int(pid), variable)] = table
    rt.recorder.import_archive(spikes, signals)
