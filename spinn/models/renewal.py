"""Spike sources that are renewal processes: gamma intervals, Poisson with dead time.

As for :class:`~spinn.models.sources.SpikeSourcePoissonGroup`, every random
number is a :func:`~spinn.rng.hashed_uniform` of ``(seed, stream, neuron
gid, step)`` (plus small integers folded into the stream key), never a
stateful generator: a neuron's train depends only on the seed and its gid,
not on which rank simulates it or with which other neurons. The state these
sources keep (time of the next spike, dead time left) is per neuron.
"""
from __future__ import annotations

import math

import numpy as np

from ..rng import exact_exp, hashed_uniform, select_keys, stream_keys
from .lif import refractory_steps
from .ode import require
from .sources import SpikeSource, poisson_counts

_NONE = np.zeros(0, dtype=np.int64)


def _window(first: np.ndarray, last: np.ndarray, active: np.ndarray):
    """Steps (inclusive) in which any active neuron of a group can fire."""
    if not active.any():
        return (1, 0)
    return int(first[active].min()), int(last[active].max())


class SpikeSourcePoissonRefractoryGroup(SpikeSource):
    """Poisson trains with a dead time ``tau_refrac`` after each spike.

    In discrete time: after a spike a neuron is silent for
    ``round(tau_refrac/dt)`` steps, then fires in each step with probability
    ``p = lambda dt`` where ``lambda = rate / (1 - rate tau_refrac)`` (``tau_refrac``
    rounded to the grid), so that the mean rate is exactly ``rate``. An
    interval is ``tau_refrac`` plus a geometric number of steps, the grid
    version of ``tau_refrac`` plus an exponential interval of rate
    ``lambda``. With a dead time of zero steps it is the Poisson source,
    with multiplicity. Active while ``start < t <= start + duration``.
    """
    stateless = False      # dead time / next spike per neuron

    @classmethod
    def parameter_names(cls):
        return ("rate", "tau_refrac", "start", "duration")


    def __init__(self, gids, params, initial, dt, seed):
        self.gids = gids
        self.n = len(gids)
        self.dt = dt
        self.state = {}
        self.key = stream_keys(seed, 0x5052)     # one, or one per neuron
        self.dead = np.zeros(self.n, dtype=np.int64)      # steps of dead time left
        self.set_parameters(params)

    def set_parameters(self, params):
        """New parameter values from the next step on; dead times running go on."""
        dt = self.dt
        rate_ms = params["rate"] / 1000.0
        self.ref_steps = refractory_steps(params["tau_refrac"], dt)
        name = "SpikeSourcePoissonRefractory"
        require(rate_ms >= 0, name, "rate must be >= 0 Hz", self.gids)
        require((self.ref_steps == 0) | (rate_ms * (self.ref_steps + 1) * dt <= 1.0), name,
                "rate is too high for tau_refrac: a neuron fires at most once every "
                "tau_refrac + dt; lower the rate or tau_refrac", self.gids)
        dead = self.ref_steps * dt
        with np.errstate(divide="ignore", invalid="ignore"):
            p_fire = np.where(rate_ms > 0, rate_ms * dt / (1.0 - rate_ms * dead), 0.0)
        # one threshold for both cases: fire when u >= threshold
        self.lam = rate_ms * dt
        self.p0 = exact_exp(-self.lam)
        self.threshold = np.where(self.ref_steps > 0, 1.0 - p_fire, self.p0)
        self.first = np.floor(params["start"] / dt + 1e-9).astype(np.int64) + 1
        stop = params["start"] + params["duration"]
        self.last = np.floor(np.minimum(stop / dt + 1e-9, 2**62)).astype(np.int64)
        self.window = _window(self.first, self.last, rate_ms > 0)

    def step(self, k, exc, inh):
        stamp = k + 1
        if not self.window[0] <= stamp <= self.window[1]:
            return _NONE, None
        u = hashed_uniform(self.key, self.gids, k)
        ready = self.dead == 0
        self.dead -= ~ready
        fired = np.flatnonzero(ready & (u >= self.threshold)
                               & (self.first <= stamp) & (stamp <= self.last))
        if fired.size == 0:
            return fired, None
        self.dead[fired] = self.ref_steps[fired]
        multi = self.ref_steps[fired] == 0
        if not multi.any():
            return fired, None
        counts = np.ones(fired.size, dtype=np.int64)
        f = fired[multi]
        counts[multi] = poisson_counts(u[f], self.lam[f], self.p0[f])
        return fired, (counts if counts.max() > 1 else None)


class SpikeSourceGammaGroup(SpikeSource):
    """Renewal trains with gamma-distributed intervals (shape ``alpha``, rate
    ``beta`` in Hz: mean interval ``alpha/beta`` s).

    Each neuron keeps the (continuous) time of its next spike; a spike at
    time ``t`` is emitted in the step ``(k dt, (k+1) dt]`` containing it,
    with multiplicity if several fall in one step. The process starts at
    ``start`` (the first interval is drawn from there, not from a stationary
    state) and emits spikes with ``t <= start + duration``. Intervals are drawn
    by Marsaglia & Tsang's (2000) method from hashed uniforms keyed by the
    neuron, the step, the draw within the step and the attempt.
    """
    stateless = False      # dead time / next spike per neuron
    STREAM = 0x4741

    @classmethod
    def parameter_names(cls):
        return ("alpha", "beta", "start", "duration")


    def __init__(self, gids, params, initial, dt, seed):
        self.gids = gids
        self.n = len(gids)
        self.state = {}
        self.seed = seed
        self.dt = dt
        self._keys = {}
        self.t_next = np.full(self.n, np.nan)        # not drawn yet
        self.set_parameters(params)

    def set_parameters(self, params):
        """New parameter values from the next step on; the next spike already
        drawn keeps its time."""
        dt = self.dt
        name = "SpikeSourceGamma"
        require(params["alpha"] > 0, name, "alpha (the shape) must be > 0", self.gids)
        require(params["beta"] >= 0, name, "beta (the rate) must be >= 0 Hz", self.gids)
        self.shape = np.asarray(params["alpha"], dtype=np.float64)
        active = params["beta"] > 0
        with np.errstate(divide="ignore"):
            self.scale = np.where(active, 1000.0 / params["beta"], np.inf)   # ms
        self.start = params["start"]
        self.stop = params["start"] + params["duration"]
        self.begin = np.floor(self.start / dt + 1e-9).astype(np.int64)
        end = np.floor(np.minimum(self.stop / dt + 1e-9, 2**62)).astype(np.int64)
        self.window = _window(self.begin, end, active)
        self.active = active

    def key(self, *parts: int):
        key = self._keys.get(parts)
        if key is None:
            key = self._keys[parts] = stream_keys(self.seed, self.STREAM, *parts)
        return key

    def intervals(self, idx: np.ndarray, k: int, draw: int) -> np.ndarray:
        """One gamma interval (ms) for each neuron ``idx`` (draw ``draw`` of step ``k``)."""
        return self.scale[idx] * gamma_variates(
            lambda *parts: select_keys(self.key(draw, *parts), idx), self.gids[idx], k, self.shape[idx])

    def step(self, k, exc, inh):
        if not self.window[0] <= k <= self.window[1]:
            return _NONE, None
        t_end = (k + 1) * self.dt
        t_next = self.t_next
        new = np.flatnonzero(np.isnan(t_next) & self.active & (self.begin <= k))
        if new.size:
            t_next[new] = self.start[new] + self.intervals(new, k, 0)
        counts = np.zeros(self.n, dtype=np.int64)
        due = np.flatnonzero(t_next <= t_end)
        draw = 1
        while due.size:
            over = t_next[due] > self.stop[due]
            t_next[due[over]] = np.inf                  # past start + duration: done
            due = due[~over]
            counts[due] += 1
            t_next[due] += self.intervals(due, k, draw)
            draw += 1
            due = due[t_next[due] <= t_end]
        fired = np.flatnonzero(counts)
        if fired.size == 0:
            return fired, None
        counts = counts[fired]
        return fired, (counts if counts.max() > 1 else None)


def gamma_variates(key, gids: np.ndarray, step: int, shape: np.ndarray) -> np.ndarray:
    """Gamma(``shape``, 1) numbers, one per gid, from hashed uniforms only.

    Marsaglia & Tsang (2000): for ``shape >= 1`` with ``d = shape - 1/3``,
    ``c = 1/sqrt(9d)``, accept ``d (1 + c x)^3`` (``x`` standard normal, by
    Box-Muller) with probability ``exp(x^2/2 + d - d v + d log v)``; for
    ``shape < 1`` draw with ``shape + 1`` and multiply by ``U^(1/shape)``.
    ``key(attempt, component)`` gives the stream key of each uniform (one,
    or one per gid).
    """
    boost = shape < 1.0
    a = np.where(boost, shape + 1.0, shape)
    d = a - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    out = np.empty(gids.size)
    pending = np.arange(gids.size)
    attempt = 0
    while pending.size:
        if attempt == 1000:      # acceptance is >= 95% per attempt: never in practice
            raise RuntimeError("gamma_variates: no acceptance after 1000 attempts")
        g = gids[pending]
        u1 = 1.0 - hashed_uniform(select_keys(key(attempt, 0), pending), g, step)  # (0, 1]
        u2 = hashed_uniform(select_keys(key(attempt, 1), pending), g, step)
        u3 = 1.0 - hashed_uniform(select_keys(key(attempt, 2), pending), g, step)
        x = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)
        dd = d[pending]
        t = 1.0 + c[pending] * x
        positive = t > 0
        v = np.where(positive, t, 1.0) ** 3
        ok = positive & (np.log(u3) < 0.5 * x * x + dd - dd * v + dd * np.log(v))
        out[pending[ok]] = (dd * v)[ok]
        pending = pending[~ok]
        attempt += 1
    if boost.any():
        b = np.flatnonzero(boost)
        u = 1.0 - hashed_uniform(select_keys(key(-1, 3), b), gids[b], step)
        out[b] *= u ** (1.0 / shape[b])
    return out
