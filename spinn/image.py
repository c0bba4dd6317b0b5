"""Rank images: what one rank needs to start, written to disk with msgpack.

SpiNNaker's toolchain writes a "data specification" per core before loading
the machine; a rank image is spinn's equivalent and makes a large job's
start-up inspectable. An image holds the rank's slices with their parameters
and initial values evaluated, the *descriptions* of the projections that end
on its neurons (connectors are expanded when the rank is built, not stored),
the global slice/key layout and the rank's routing table.

``save_rank_images(spec, mapping, directory)`` writes ``rank-<r>.msgpack``
per rank; ``load_rank_image(path)`` returns ``(spec, mapping, rank)`` from
which :class:`~spinn.runtime.RankEngine` builds exactly the rank it would have
built from the whole network description.
"""
from __future__ import annotations

import os
from dataclasses import asdict
from types import SimpleNamespace

import msgpack
import numpy as np

from partitioning import KeySpace, Placement, RoutingTable, Slices

from .electrodes import CurrentSourceSpec
from .errors import SpinnError
from .models import MODELS
from .network import (ConnectorSpec, NetworkSpec, PopulationSpec, ProjectionSpec, ValueSpec,
                      evaluate)
from .plasticity import PlasticitySpec
from .shortterm import ShortTermSpec

FORMAT = "spinn-rank-image/1"


def _encode(obj):
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return {"__list__": [_encode(x) for x in obj.tolist()]}
        return {"__nd__": True, "dtype": obj.dtype.str, "shape": list(obj.shape),
                "data": np.ascontiguousarray(obj).tobytes()}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in a rank image")


def _decode(obj):
    if "__nd__" in obj:
        return np.frombuffer(obj["data"], dtype=np.dtype(obj["dtype"])).reshape(obj["shape"]).copy()
    if "__list__" in obj:
        return np.array(obj["__list__"], dtype=object)
    return obj


def _value(v: ValueSpec) -> dict:
    value = v.value
    if v.kind == "distribution":
        value = [value[0], dict(value[1])]
    return {"kind": v.kind, "value": value}


def _projection(proj: ProjectionSpec) -> dict:
    if proj.connector.kind == "callback":
        raise SpinnError(f"Projection '{proj.label}': its connector has no description that "
                         "can be stored in a rank image")
    return {
        "id": proj.id, "label": proj.label, "pre_gids": np.asarray(proj.pre_gids),
        "post_gids": np.asarray(proj.post_gids),
        "pre_populations": list(proj.pre_populations),
        "post_populations": list(proj.post_populations),
        "connector": {"kind": proj.connector.kind, "params": proj.connector.params,
                      "allow_self_connections": proj.connector.allow_self_connections,
                      "seed": proj.connector.seed},
        "weight": _value(proj.weight), "delay": _value(proj.delay),
        "receptor": proj.receptor, "receptor_name": proj.receptor_name,
        "weight_sign": proj.weight_sign,
        "plasticity": asdict(proj.plasticity) if proj.plasticity else None,
        "short_term": asdict(proj.short_term) if proj.short_term else None,
    }


def rank_image(spec: NetworkSpec, mapping, rank: int) -> dict:
    """The image of one rank as plain data (see the module docstring)."""
    sl = mapping.slices
    mine = mapping.placement.slices_on(rank)
    local = []
    local_pops = set()
    for s in mine.tolist():
        pop = spec.populations[int(sl.vertex[s])]
        lo, hi = int(sl.lo[s]), int(sl.hi[s])
        cls = MODELS[pop.model]
        local.append({
            "slice": s, "population": pop.id, "lo": lo, "hi": hi,
            "params": {p: evaluate(pop.params[p], lo, hi) for p in cls.parameter_names()},
            "initial": {v: evaluate(pop.initial[v], lo, hi) for v in cls.state_names()},
            "spike_times": (list(pop.spike_times(lo, hi)) if pop.spike_times else None),
            "record": {var: [np.asarray(idx), interval]
                       for var, (idx, interval) in pop.record.items()},
        })
        local_pops.add(pop.id)
    table = mapping.tables[rank]
    return {
        "format": FORMAT, "rank": rank, "n_ranks": mapping.placement.n_ranks,
        "digest": mapping.digest(), "dt_ms": spec.dt_ms, "seed": spec.seed,
        "populations": [{"id": p.id, "label": p.label, "size": p.size, "model": p.model,
                         "first_gid": p.first_gid, "max_atoms_per_core": p.max_atoms_per_core}
                        for p in spec.populations],
        "slices": {"vertex": sl.vertex, "lo": sl.lo, "hi": sl.hi},
        "placement": mapping.placement.rank,
        "keys": {"base": mapping.keys.base, "mask": mapping.keys.mask,
                 "offset_bits": mapping.keys.offset_bits},
        "table": {"key": table.key, "mask": table.mask, "dest_ptr": table.dest_ptr,
                  "dest_rank": table.dest_rank},
        "local": local,
        "projections": [_projection(p) for p in spec.projections
                        if local_pops.intersection(p.post_populations)],
        "current_sources": [{"id": c.id, "kind": c.kind, "params": c.params,
                             "targets": c.targets, "label": c.label}
                            for c in spec.current_sources],
    }


def save_rank_images(spec: NetworkSpec, mapping, directory: str) -> list:
    """Write ``rank-<r>.msgpack`` for every rank; returns the paths."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for r in range(mapping.placement.n_ranks):
        path = os.path.join(directory, f"rank-{r}.msgpack")
        with open(path, "wb") as f:
            msgpack.pack(rank_image(spec, mapping, r), f, default=_encode,
                         use_bin_type=True)
        paths.append(path)
    return paths


def read_rank_image(path: str) -> dict:
    """The raw content of an image file (for inspection)."""
    with open(path, "rb") as f:
        image = msgpack.unpack(f, object_hook=_decode, raw=False, strict_map_key=False)
    if image.get("format") != FORMAT:
        raise SpinnError(f"{path}: not a spinn rank image (format {image.get('format')!r})")
    return image


def _slice_lookup(entries, key):
    """``f(lo, hi)`` returning the stored values of exactly that slice."""
    by_range = {(e["lo"], e["hi"]): e for e in entries}

    def values(lo, hi):
        try:
            return by_range[(lo, hi)][key]
        except KeyError:
            raise SpinnError(f"slice [{lo}, {hi}) is not in this rank image") from None
    return values


def load_rank_image(path: str):
    """``(spec, mapping, rank)`` for building this rank's engine from an image."""
    image = read_rank_image(path)
    by_pop: dict = {}
    for entry in image["local"]:
        by_pop.setdefault(entry["population"], []).append(entry)
    populations = []
    for p in image["populations"]:
        entries = by_pop.get(p["id"], [])
        names = MODELS[p["model"]]
        params = {name: _param(entries, "params", name) for name in names.parameter_names()}
        initial = {name: _param(entries, "initial", name) for name in names.state_names()}
        spike_times = None
        if entries and entries[0]["spike_times"] is not None:
            lookup = _slice_lookup(entries, "spike_times")
            spike_times = lambda lo, hi, f=lookup: [np.asarray(t, float) for t in f(lo, hi)]  # noqa: E731
        record = {}
        for e in entries:
            for var, (idx, interval) in e["record"].items():
                record[var] = (np.asarray(idx, dtype=np.int64), int(interval))
        populations.append(PopulationSpec(
            id=p["id"], label=p["label"], size=p["size"], model=p["model"],
            first_gid=p["first_gid"], params=params, initial=initial,
            max_atoms_per_core=p["max_atoms_per_core"], spike_times=spike_times,
            record=record))
    projections = []
    for q in image["projections"]:
        c = q["connector"]
        weight, delay = (ValueSpec(v["kind"], tuple(v["value"]) if v["kind"] == "distribution"
                                   else v["value"]) for v in (q["weight"], q["delay"]))
        projections.append(ProjectionSpec(
            id=q["id"], label=q["label"], pre_gids=q["pre_gids"], post_gids=q["post_gids"],
            pre_populations=tuple(q["pre_populations"]),
            post_populations=tuple(q["post_populations"]),
            connector=ConnectorSpec(c["kind"], c["params"], c["allow_self_connections"],
                                    c["seed"]),
            weight=weight, delay=delay, receptor=q["receptor"],
            receptor_name=q["receptor_name"], weight_sign=q["weight_sign"],
            plasticity=PlasticitySpec(**q["plasticity"]) if q["plasticity"] else None,
            short_term=ShortTermSpec(**q["short_term"]) if q["short_term"] else None))
    spec = NetworkSpec(dt_ms=image["dt_ms"], seed=image["seed"], populations=populations,
                       projections=_by_id(projections),
                       current_sources=[CurrentSourceSpec(**c)
                                        for c in image["current_sources"]])
    rank, n_ranks = image["rank"], image["n_ranks"]
    s = image["slices"]
    k = image["keys"]
    t = image["table"]
    tables = {rank: RoutingTable(rank=rank, key=t["key"], mask=t["mask"],
                                 dest_ptr=t["dest_ptr"], dest_rank=t["dest_rank"])}
    mapping = SimpleNamespace(
        slices=Slices(vertex=s["vertex"], lo=s["lo"], hi=s["hi"]),
        placement=Placement(rank=image["placement"], n_ranks=n_ranks),
        keys=KeySpace(base=k["base"], mask=k["mask"], offset_bits=k["offset_bits"]),
        tables=tables, digest=lambda d=image["digest"]: d)
    return spec, mapping, rank


class _ProjectionList(list):
    """Projections indexed by id although only some are present."""

    def __init__(self, items):
        super().__init__(items)
        self.by_id = {p.id: p for p in items}

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            return self.by_id[int(i)]
        return super().__getitem__(i)


def _by_id(projections):
    return _ProjectionList(projections)


def _param(entries, section, name):
    lookup = _slice_lookup(entries, section)
    return lambda lo, hi: lookup(lo, hi)[name]
