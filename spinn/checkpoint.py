"""Checkpoints: the whole dynamic state between runs, restored onto any number of ranks.

A checkpoint is a directory::

    manifest.json            format and version, the network's digest (and
                             each object's, to name a difference), the step,
                             the rank count, one SHA-256 per file
    rank-00000.msgpack ...   one per rank that wrote it: its state tables in
                             model coordinates (:mod:`spinn.state`)

Every table is keyed by model identity (global neuron ids, synapse
identities, arrival steps), not by rank, so a checkpoint written by N ranks
is restored by M: each process reads some of the files and the rows move to
the ranks that now hold their neurons. Spikes after a restore are bitwise
those of an uninterrupted run. Writing is atomic: the files go to
``<path>.partial``, and only when all are complete does the old checkpoint
(if any) make way for the new one.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import msgpack
import numpy as np

from .errors import SimulationStateError
from .network import first_difference, steps_to_ms
from .state import StateError

FORMAT = "spinn-checkpoint"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

__all__ = ["save", "restore", "read_manifest", "FORMAT_VERSION"]


def _file_name(rank: int) -> str:
    return f"rank-{rank:05d}.msgpack"


def _narrow(v: np.ndarray) -> np.ndarray:
    """Integers in the smallest type that holds them (ids, steps, counters)."""
    if v.dtype.kind not in "iu" or v.size == 0:
        return v
    lo, hi = int(v.min()), int(v.max())
    for t in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32):
        info = np.iinfo(t)
        if info.min <= lo and hi <= info.max:
            return v.astype(t)
    return v


def _pack(tables: dict, header: dict) -> bytes:
    body = {}
    for name, columns in tables.items():
        body[name] = {}
        for col, v in columns.items():
            stored = _narrow(np.ascontiguousarray(v))
            body[name][col] = {"dtype": str(v.dtype), "stored": str(stored.dtype),
                               "data": stored.tobytes()}
    return msgpack.packb({"header": header, "tables": body}, use_bin_type=True)


def _unpack(data: bytes) -> tuple:
    obj = msgpack.unpackb(data, raw=False)
    tables = {name: {col: np.frombuffer(v["data"], dtype=np.dtype(v["stored"])).astype(
                         np.dtype(v["dtype"]))
                     for col, v in columns.items()}
              for name, columns in obj["tables"].items()}
    return obj["header"], tables


def _json_digests(spec) -> list:
    return json.loads(json.dumps(spec.object_digests()))


def save(sim, path) -> Path:
    """Write the simulation's state at its current step to directory ``path``
    (collective: every process calls it). Returns the path."""
    sim.build()
    ex = sim.exchange
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    first = ex.process_rank == 0
    if first:
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir(parents=True)
    ex.barrier()
    t0 = time.perf_counter()
    header = {"format": FORMAT, "version": FORMAT_VERSION, "step": sim.step,
              "digest": sim.spec.digest, "n_ranks": ex.n_ranks}
    files = []
    for rt, tables in zip(sim.runtimes, sim.export_state()):
        data = _pack(tables, dict(header, rank=rt.rank))
        name = _file_name(rt.rank)
        with open(partial / name, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        files.append({"rank": rt.rank, "name": name, "bytes": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()})
    every = [f for part in ex.allgather(files) for f in part]
    if first:
        manifest = dict(header, time_ms=float(steps_to_ms(sim.step, sim.spec.dt_ms)),
                        dt_ms=sim.spec.dt_ms, written=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                        files=sorted(every, key=lambda f: f["rank"]),
                        objects=_json_digests(sim.spec),
                        current_traces={str(k): list(v) for k, v in sim.current_traces.items()})
        with open(partial / MANIFEST, "w") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        old = path.with_name(path.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        if path.exists():
            path.rename(old)
        partial.rename(path)
        if old.exists():
            shutil.rmtree(old)
    ex.barrier()
    sim.checkpoint_seconds = time.perf_counter() - t0
    return path


def read_manifest(path) -> dict:
    path = Path(path)
    file = path / MANIFEST
    if not file.exists():
        raise StateError(f"{path}: not a spinn checkpoint (no {MANIFEST})")
    try:
        manifest = json.loads(file.read_text())
    except ValueError as exc:
        raise StateError(f"{file}: damaged ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise StateError(f"{path}: not a spinn checkpoint (format {manifest.get('format')!r})")
    if manifest.get("version") != FORMAT_VERSION:
        raise StateError(f"{path}: checkpoint format version {manifest.get('version')}, "
                         f"this spinn reads version {FORMAT_VERSION}")
    return manifest


def restore(sim, path) -> dict:
    """Continue from the checkpoint in ``path`` (collective). The network must
    be the one that was saved (the same script rebuilt to the same point,
    before any run); the number of ranks may differ. Returns the manifest."""
    path = Path(path)
    ex = sim.exchange
    error, manifest, tables = None, None, []
    try:
        manifest = read_manifest(path)
        if manifest["digest"] != sim.spec.digest:
            where = first_difference(_json_digests(sim.spec), manifest["objects"])
            raise StateError(f"{path} holds another network: it differs from this one at "
                             f"{where or 'its description'}")
        if sim.built and sim.step != 0:
            raise SimulationStateError("restore_checkpoint() must come before the first run(), "
                                       f"not at t = {steps_to_ms(sim.step, sim.spec.dt_ms)} ms")
        n_processes = ex.n_ranks if len(ex.local_ranks) == 1 else 1
        mine = manifest["files"][ex.process_rank::n_processes]
        for entry in mine:
            file = path / entry["name"]
            if not file.exists():
                raise StateError(f"{file}: missing from the checkpoint")
            data = file.read_bytes()
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise StateError(f"{file}: damaged (checksum differs from the manifest's)")
            header, t = _unpack(data)
            if header.get("step") != manifest["step"] or header.get("digest") != manifest["digest"]:
                raise StateError(f"{file}: belongs to another checkpoint")
            tables.append(t)
    except (StateError, SimulationStateError, OSError, ValueError) as exc:
        error = exc if isinstance(exc, (StateError, SimulationStateError)) else StateError(
            f"{path}: cannot read the checkpoint ({exc})")
    sim._agree_on(error)
    sim.step = int(manifest["step"])
    if sim.built:
        sim._start_runtimes()
    else:
        sim.build()
    sim._import_state(tables, strict=True)
    sim.current_traces = {int(k): list(v) for k, v in manifest.get("current_traces", {}).items()}
    return manifest

