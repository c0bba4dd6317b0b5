"""Current sources (DC, AC, step, noisy) in the engine.

A source is a description (:class:`~spinn.network.CurrentSourceSpec`) whose parameters the
PyNN layer may change between runs. Each rank binds the sources to its own
target neurons before a run and, in every step ``k``, adds the source's
current to the targets' ``i_inj``. PyNN's timing: a source switched on at
``start`` drives the step that begins at ``start``, so ``v`` is unchanged at
``start`` and changes one step later; the recorded current at index ``k`` is
the current of the step that begins at ``k*dt``.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import NetworkError
from .network import CurrentSourceSpec
from .rng import hashed_uniform, stream_key


def _on(params, k: int, dt: float) -> bool:
    return round(params["start"] / dt) <= k < round(params["stop"] / dt)


def step_schedule(times, amplitudes, dt, label=""):
    """Check and round a StepCurrentSource's times: (steps, amplitudes).

    Times must be non-negative and strictly increasing; after rounding to the
    grid, of several times falling on one step the last amplitude wins.
    """
    times = np.asarray(times, dtype=float)
    amplitudes = np.asarray(amplitudes, dtype=float)
    if times.shape != amplitudes.shape:
        raise NetworkError(f"{label}: {times.size} times but {amplitudes.size} amplitudes")
    if times.size and times.min() < 0:
        raise NetworkError(f"{label}: step times must not be negative, got {times.min():g} ms")
    if times.size > 1 and np.any(np.diff(times) <= 0):
        raise NetworkError(f"{label}: step times must increase strictly, got {times.tolist()}")
    steps = np.rint(times / dt).astype(np.int64)
    last = np.append(steps[1:] != steps[:-1], True) if steps.size else steps.astype(bool)
    return steps[last], amplitudes[last]


def source_current(src: CurrentSourceSpec, k: int, dt: float, gids: np.ndarray):
    """The current (nA) of source ``src`` in step ``k`` for target ``gids``:
    a float, or an array for noisy sources."""
    p = src.params
    if src.kind == "dc":
        return p["amplitude"] if _on(p, k, dt) else 0.0
    if src.kind == "ac":
        if not _on(p, k, dt):
            return 0.0
        t = k * dt - p["start"]
        return p["offset"] + p["amplitude"] * math.sin(
            2.0 * math.pi * p["frequency"] * t / 1000.0 + 2.0 * math.pi * p["phase"] / 360.0)
    if src.kind == "step":
        steps, amps = p["_schedule"]
        i = int(np.searchsorted(steps, k, side="right")) - 1
        return float(amps[i]) if i >= 0 else 0.0
    if src.kind == "noisy":
        if not _on(p, k, dt):
            return 0.0
        every = max(1, int(round(p["dt"] / dt)))
        interval = (k - round(p["start"] / dt)) // every
        key = stream_key(p["_seed"], src.id, interval)
        u1 = hashed_uniform(key, gids, 1)
        u2 = hashed_uniform(key, gids, 2)
        normal = np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)   # Box-Muller
        return p["mean"] + p["stdev"] * normal
    raise NetworkError(f"unknown current source kind {src.kind!r}")


class BoundSource:
    """A source bound to one cell group of a rank: its local columns."""

    def __init__(self, spec: CurrentSourceSpec, group, columns, gids):
        self.spec, self.group, self.columns, self.gids = spec, group, columns, gids

    def apply(self, k: int, dt: float) -> None:
        value = source_current(self.spec, k, dt, self.gids)
        if np.ndim(value) or value != 0.0:
            np.add.at(self.group.i_inj, self.columns, value)


def recorded_value(src: CurrentSourceSpec, k: int, dt: float) -> float:
    """The value ``record()`` shows for step ``k`` (the first target's, for
    noisy sources, whose targets each get their own noise)."""
    first = src.targets[:1] if src.targets.size else np.zeros(1, np.int64)
    value = source_current(src, k, dt, first)
    return float(np.ravel(value)[0]) if np.ndim(value) else float(value)
