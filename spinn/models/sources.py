"""Spike sources: replayed spike times, Poisson trains, live injection."""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..rng import exact_exp, hashed_uniform, stream_keys


class SpikeSource:
    """What every spike source shares: no state variables, only spikes to record.

    A source's neurons are independent of each other (each one's train is a
    function of its own parameters, the seed and its global id), so any
    subset of them can be simulated alone: a rank can generate a source's
    neurons next to their targets (:mod:`spinn.fusion`).
    """
    is_source = True
    independent = True
    #: no dynamic state: a copy of any neuron needs only the step (replication)
    stateless = True
    recordable = ("spikes",)

    @classmethod
    def parameter_names(cls):
        return ()

    @classmethod
    def state_names(cls):
        return ()


#: a spike time within this many steps of a grid point is on it (float noise)
GRID_TOLERANCE = 1e-6


def emission_steps(times, dt: float) -> np.ndarray:
    """The step in which each spike time is emitted (its spike is stamped at
    the end of that step, at or after the time).

    >>> emission_steps([0.1, 0.30000000000000004, 0.075, 0.15], 0.05).tolist()
    [1, 5, 1, 2]
    """
    return np.ceil(np.asarray(times, dtype=np.float64) / dt - GRID_TOLERANCE).astype(
        np.int64) - 1


class SpikeSourceArrayGroup(SpikeSource):
    """Replays given spike times; a time ``t`` is emitted at the end of the step
    it falls in, step ``ceil(t/dt) - 1`` (NEST's ``spike_generator`` with
    on-grid neurons: an off-grid time is sent at the next grid point; a time
    within 1e-6 of a step of a grid point counts as on it).

    ``spike_times`` is ``(times, ptr)``: neuron ``i``'s times (ms) are
    ``times[ptr[i]:ptr[i + 1]]``.
    """

    def __init__(self, gids, params, initial, dt, seed, spike_times=None):
        self.gids = gids
        self.n = len(gids)
        self.state = {}
        if spike_times is None:
            spike_times = (np.zeros(0), np.zeros(self.n + 1, dtype=np.int64))
        self.set_spike_times(spike_times, dt)

    def set_spike_times(self, spike_times, dt, *, after_step: int = -1):
        times, ptr = spike_times
        steps = emission_steps(times, dt)
        owners = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(ptr))
        keep = steps > after_step
        steps, owners = steps[keep], owners[keep]
        order = np.lexsort((owners, steps))
        self.event_step = steps[order]
        self.event_owner = owners[order]

    def step(self, k, exc, inh):
        lo = np.searchsorted(self.event_step, k, "left")
        hi = np.searchsorted(self.event_step, k, "right")
        if hi == lo:
            return self.event_owner[:0], None
        owners = self.event_owner[lo:hi]
        uniq, counts = np.unique(owners, return_counts=True)
        return uniq, (counts if counts.max() > 1 else None)


class SpikeInjectorGroup(SpikeSource):
    """Spikes that come from outside while the network runs
    (:class:`spinn.live.SpikeInjector`): the engine hands this rank's share of
    each step's injected neurons to :meth:`inject` before the step, and they
    spike in it (a neuron named ``m`` times spikes with multiplicity ``m``).

    Not independent: only the rank that holds a neuron learns of its spikes,
    so an injector is never fused into its targets nor replicated."""
    independent = False
    stateless = False

    @classmethod
    def parameter_names(cls):
        """The live settings (kept as parameters so every process sees them;
        the step does not use them)."""
        return ("port", "database_notify_port_num", "database_notify_host")

    def __init__(self, gids, params, initial, dt, seed):
        self.gids = gids
        self.n = len(gids)
        self.state = {}
        self._pending: dict = {}         # step -> [local indices, ...]
        self._none = np.zeros(0, dtype=np.int64)

    def inject(self, k: int, local: np.ndarray) -> None:
        """Local neurons ``local`` spike in step ``k``."""
        local = np.asarray(local, dtype=np.int64)
        if local.size:
            self._pending.setdefault(k, []).append(local)

    def step(self, k, exc, inh):
        parts = self._pending.pop(k, None)
        if not parts:
            return self._none, None
        uniq, counts = np.unique(np.concatenate(parts), return_counts=True)
        return uniq, (counts if counts.max() > 1 else None)


class SpikeSourcePoissonGroup(SpikeSource):
    """Poisson spike trains, with multiplicity when ``rate*dt`` is not small.

    In each active step a neuron emits ``n ~ Poisson(rate*dt)`` spikes (drawn
    by inverse transform from one hashed uniform per neuron and step, so the
    train of a neuron depends only on the seed, its population, its index and
    the step). Active while ``start < t <= start + duration``.
    """
    @classmethod
    def parameter_names(cls):
        return ("rate", "start", "duration")

    def __init__(self, gids, params, initial, dt, seed):
        self.gids = gids
        self.n = len(gids)
        self.state = {}
        # one key, or one per neuron when some population has its own seed
        self.key = stream_keys(seed, 0x5050)
        self.dt = dt
        self._none = np.zeros(0, dtype=np.int64)
        self.set_parameters(params)

    def set_parameters(self, params):
        dt = self.dt
        self.p = params
        self.lam = params["rate"] * dt / 1000.0
        self.p0 = exact_exp(-self.lam)
        self.first = np.floor(params["start"] / dt + 1e-9).astype(np.int64) + 1
        stop = params["start"] + params["duration"]
        self.last = np.floor(np.minimum(stop / dt + 1e-9, 2**62)).astype(np.int64)
        active = self.lam > 0
        # the window in which any neuron of the group can fire: outside it a
        # step costs nothing (no random numbers are drawn, none are needed)
        self.window = ((int(self.first[active].min()), int(self.last[active].max()))
                       if active.any() else (1, 0))
        self.table = count_table(self.lam, self.p0)
        # the compiled step takes one key for the group
        self._compiled = kernels.compiled if np.ndim(self.key) == 0 else None
        if self._compiled is not None:
            self._fired = np.empty(self.n, dtype=np.int64)
            self._counts = np.empty(self.n, dtype=np.int64)
            self._cdf, self._saturated = np.zeros(0), 0
            if self.table is not None:
                self._cdf = np.concatenate((self.p0[:1], self.table))
                self._saturated = int(np.searchsorted(self._cdf, self._cdf[-1]))
            self._gids = np.ascontiguousarray(self.gids, dtype=np.int64)
            self._active = (int(self.first.max(initial=0)), int(self.last.min(initial=0)))

    def step(self, k, exc, inh):
        stamp = k + 1
        if not self.window[0] <= stamp <= self.window[1]:
            return self._none, None
        if self._compiled is not None:
            n = self._compiled.poisson_step(
                self.key, self._gids, k, self.p0, self.lam, self.first, self.last, self._cdf,
                self._saturated, self._active[0] <= stamp <= self._active[1], self._fired,
                self._counts)
            if n == 0:
                return self._none, None
            counts = self._counts[:n]
            return self._fired[:n], (counts if counts.max() > 1 else None)
        u = hashed_uniform(self.key, self.gids, k)
        fired = np.flatnonzero((u >= self.p0) & (self.first <= stamp) & (stamp <= self.last))
        if fired.size == 0:
            return fired, None
        counts = poisson_counts(u[fired], self.lam[fired], self.p0[fired], self.table)
        return fired, (counts if counts.max() > 1 else None)


def count_table(lam: np.ndarray, p0: np.ndarray) -> np.ndarray | None:
    """When every neuron has the same rate: the CDF values :func:`poisson_counts`
    compares with, computed once (the same arithmetic, so the same counts).

    >>> lam = np.full(3, 2.0); p0 = np.exp(-lam)
    >>> u = np.array([0.5, 0.9, 0.999])
    >>> poisson_counts(u, lam, p0).tolist() == poisson_counts(u, lam, p0, count_table(lam, p0)).tolist()
    True
    """
    if lam.size == 0 or not np.all(lam == lam[0]) or not np.all(p0 == p0[0]):
        return None
    lam0, p00 = lam[:1], p0[:1]
    pmf = p00 * lam0
    cdf = p00 + pmf
    table = [cdf[0]]
    for j in range(2, 1000):
        pmf = pmf * lam0 / j
        cdf = cdf + pmf
        table.append(cdf[0])
    return np.array(table)


def poisson_counts(u: np.ndarray, lam: np.ndarray, p0: np.ndarray,
                   table: np.ndarray | None = None) -> np.ndarray:
    """Poisson(``lam``) counts of at least 1 by inverse transform.

    ``u >= p0 = exp(-lam)`` are uniforms already known to give a count > 0.
    With a :func:`count_table` (one rate for all), one search instead of a
    loop over counts.
    """
    if table is not None:
        return 1 + np.searchsorted(table, u, side="right")
    pmf = p0 * lam
    cdf = p0 + pmf
    counts = np.ones(u.size, dtype=np.int64)
    more = u >= cdf
    j = 1
    while more.any() and j < 1000:
        j += 1
        pmf = pmf * lam / j
        cdf = cdf + pmf
        counts += more
        more &= u >= cdf
    return counts
