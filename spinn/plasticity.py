"""Spike-timing-dependent plasticity, exact, vectorised and distributed.

Plastic synapses live in the target rank's synapse rows (the same CSR as
static synapses), so every update is local: pre spikes arrive as packets,
post spikes are local. A rank numbers its plastic synapses in an index space
of their own (projection by projection, each in row order), where it keeps
their weights, traces and delays; nothing is sized by the rank's static
synapses. Each synapse keeps its own traces, so *all* pairs
count (no cap on stored spikes, unlike sPyNNaker's 16-event history) and the
exponentials are exact in float64.

Timing follows PyNN's ``STDPMechanism``: with ``dendritic_delay_fraction``
0 the synapse sees the pre spike at ``t_pre + d`` and the post spike at
``t_post``; with 1 it sees the pre spike at ``t_pre`` and the post spike at
``t_post + d``. For every pair, ``Δt = t_post,seen − t_pre,seen``:

* ``Δt > 0`` potentiates: ``Δw = A_plus · g_plus(w) · exp(−Δt/τ+)``,
* ``Δt < 0`` depresses: ``Δw = −A_minus · g_minus(w) · exp(Δt/τ−)``,
* ``Δt = 0`` changes nothing,

with the weight dependence ``g_plus(w) = w_max·((w_max − w)/w_max)^μ+`` and
``g_minus(w) = w_max·((w − w_min)/w_max)^μ−`` (additive: μ± = 0;
multiplicative: μ± = 1; additive potentiation / multiplicative depression:
μ+ = 0, μ− = 1; Gütig: given μ±; NEST's ``stdp_synapse`` family), weights
clipped to ``[w_min, w_max]`` after every event. Events are applied when the
synapse sees them (a deferred pre event of an axonal delay is applied at its
arrival), so ``Projection.get`` shows every pair already seen.

A trace is kept per synapse as ``(value after its last event, value just
before it, time of that event)``, which makes "strictly before" exact when
pre and post events fall on the same step, whatever the processing order.
Decays ``exp(−n·dt/τ)`` for an integer number of steps ``n`` come from
tables built with ``math.exp`` (product of three table entries), never from
numpy's vectorised ``exp``: results are bitwise identical on any rank count.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .csr import ranges, row_entries
from .errors import NetworkError

TIMING_RULES = ("pair", "nearest", "vogels")
_BITS = 10
_MASK = (1 << _BITS) - 1


class DecayTable:
    """``exp(-n * dt / tau)`` for integer ``n >= 0``, deterministic and vectorised."""

    def __init__(self, dt: float, tau: float):
        r = dt / tau
        size = 1 << _BITS
        self.lo = np.array([math.exp(-i * r) for i in range(size)])
        self.mid = np.array([math.exp(-i * size * r) for i in range(size)])
        self.hi = np.array([math.exp(-i * size * size * r) for i in range(size * 2)])

    def __call__(self, n: np.ndarray) -> np.ndarray:
        if n.size and n.max() < (1 << (2 * _BITS)):       # the usual case: two lookups
            return self.lo[n & _MASK] * self.mid[n >> _BITS]
        n = np.minimum(n, (len(self.hi) << (2 * _BITS)) - 1)
        return self.lo[n & _MASK] * self.mid[(n >> _BITS) & _MASK] * self.hi[n >> (2 * _BITS)]


@dataclass(frozen=True)
class PlasticitySpec:
    """A projection's plasticity rule (scalar parameters, PyNN units)."""
    timing: str                     # "pair", "nearest" or "vogels"
    params: tuple                   # ((name, value), ...): tau_plus, tau_minus, A_plus,
                                    # A_minus | tau, eta, rho
    w_min: float
    w_max: float
    mu_plus: float = 0.0
    mu_minus: float = 0.0
    dendritic_delay_fraction: float = 1.0

    def __post_init__(self):
        items = self.params.items() if isinstance(self.params, dict) else self.params
        object.__setattr__(self, "params", tuple((str(k), float(v)) for k, v in items))

    @property
    def parameters(self) -> dict:
        return dict(self.params)


class Trace:
    """Per-synapse trace: value after the last event, value just before, time."""

    def __init__(self, n: int, table: DecayTable):
        self.after = np.zeros(n)
        self.before = np.zeros(n)
        self.time = np.zeros(n, dtype=np.int64)
        self.table = table

    def strictly_before(self, idx: np.ndarray, t: int) -> np.ndarray:
        """Trace value at time ``t`` counting only events strictly before ``t``."""
        last = self.time[idx]
        value = self.after[idx] * self.table(t - last)
        same = last == t
        if same.any():
            value[same] = self.before[idx[same]]
        return value

    def add_event(self, idx: np.ndarray, t: int, *, reset: bool) -> None:
        """One event at time ``t`` for each entry of ``idx`` (unique indices)."""
        last = self.time[idx]
        now = self.after[idx]
        same = last == t
        if same.any():
            # several events on one step (multiplicity): "before" stays at the
            # first one's, and the count goes on from the value after it
            now[~same] *= self.table(t - last[~same])
            keep = self.before[idx[same]]
            self.before[idx] = now
            self.before[idx[same]] = keep
        else:
            now *= self.table(t - last)
            self.before[idx] = now
        self.after[idx] = 1.0 if reset else now + 1.0
        self.time[idx] = t


class PlasticProjection:
    """The plastic synapses of one projection on one rank.

    ``weight`` is this projection's part of the rank's plastic weights (a
    view, updated in place); events address synapses by their position in
    the projection.
    """

    def __init__(self, spec: PlasticitySpec, label: str, weight: np.ndarray,
                 delay_steps: np.ndarray, dt: float):
        self.spec, self.label = spec, label
        self.weight = weight
        self.delay = delay_steps
        p = spec.parameters
        if spec.timing == "vogels":
            tau_plus = tau_minus = p["tau"]
        else:
            tau_plus, tau_minus = p["tau_plus"], p["tau_minus"]
        for name, tau in (("tau_plus", tau_plus), ("tau_minus", tau_minus)):
            if not tau > 0:
                raise NetworkError(f"Projection '{label}': {name}={tau} ms must be positive")
        n = weight.size
        self.x = Trace(n, DecayTable(dt, tau_plus))      # pre events seen
        self.y = Trace(n, DecayTable(dt, tau_minus))     # post events seen
        self.reset = spec.timing == "nearest"
        self.set_delays(delay_steps)
        if spec.timing == "vogels":
            self.alpha = 2.0 * p["rho"] * p["tau"] / 1000.0

    def set_delays(self, delay_steps: np.ndarray) -> None:
        """Split each synapse's delay into the part before the synapse sees a
        pre spike (axonal) and before it sees a post spike (dendritic)."""
        f = self.spec.dendritic_delay_fraction
        self.delay = delay_steps
        self.axonal = np.rint((1.0 - f) * delay_steps).astype(np.int64)   # pre seen later
        self.dendritic = delay_steps - self.axonal                         # post seen later

    def state_arrays(self) -> dict:
        return {"x_after": self.x.after, "x_before": self.x.before, "x_time": self.x.time,
                "y_after": self.y.after, "y_before": self.y.before, "y_time": self.y.time}

    def _clip(self, w):
        return np.clip(w, self.spec.w_min, self.spec.w_max, out=w)

    def _change(self, w, trace, plus: bool):
        """The weight change for events with the other side's ``trace``."""
        s, p = self.spec, self.spec.parameters
        if s.timing == "vogels":
            return p["eta"] * (trace if plus else trace - self.alpha)
        amplitude = p["A_plus"] if plus else -p["A_minus"]
        mu = s.mu_plus if plus else s.mu_minus
        if mu == 0.0:                              # additive: no weight dependence
            return (amplitude * s.w_max) * trace
        span = (s.w_max - w) if plus else (w - s.w_min)
        if mu == 1.0:
            return amplitude * span * trace
        return amplitude * s.w_max * np.power(np.maximum(span, 0.0) / s.w_max, mu) * trace

    def pre_event(self, local: np.ndarray, t: int) -> None:
        """Pre spikes seen at time ``t`` by synapses ``local`` (unique)."""
        w = self.weight[local]
        w += self._change(w, self.y.strictly_before(local, t), plus=False)
        self.weight[local] = self._clip(w)
        self.x.add_event(local, t, reset=self.reset)

    def post_event(self, local: np.ndarray, t: int) -> None:
        """Post spikes seen at time ``t`` by synapses ``local`` (unique)."""
        w = self.weight[local]
        w += self._change(w, self.x.strictly_before(local, t), plus=True)
        self.weight[local] = self._clip(w)
        self.y.add_event(local, t, reset=self.reset)


class SynapseSpace:
    """The synapses of some projections of a rank, numbered in an index space
    of their own: projection by projection (ascending id), each in row order.

    ``csr[i]`` is synapse ``i``'s position in the rank's CSR; ``row_start[r]``
    the index of row ``r``'s first synapse (-1 for rows of other
    projections); ``bases[j]`` where projection ``j`` starts.
    """

    def __init__(self, synapses, projection_ids):
        n_rows = synapses.row_projection.size
        self.row_start = np.full(n_rows, -1, dtype=np.int64)
        csr, bases, self.ids = [], [0], []
        for pid in sorted(projection_ids):
            part = synapses.part(pid)
            if part is None or part.n_synapses == 0:
                continue
            rows = part.rows
            lengths = synapses.row_ptr[rows + 1] - synapses.row_ptr[rows]
            self.row_start[rows] = bases[-1] + np.cumsum(lengths) - lengths
            csr.append(row_entries(synapses.row_ptr, rows))
            bases.append(bases[-1] + part.n_synapses)
            self.ids.append(pid)
        self.csr = np.concatenate(csr) if csr else np.zeros(0, dtype=np.int64)
        self.bases = np.array(bases, dtype=np.int64)
        self.n = int(self.csr.size)
        self.row_ptr = synapses.row_ptr

    def expand(self, rows: np.ndarray) -> np.ndarray:
        """Indices of the synapses of ``rows`` (rows of these projections), in order."""
        return ranges(self.row_start[rows], self.row_ptr[rows + 1] - self.row_ptr[rows])

    def owner(self, index: np.ndarray) -> np.ndarray:
        """Which projection (position in ``ids``) holds each index."""
        return np.searchsorted(self.bases, index, side="right") - 1

    def of(self, pid: int) -> slice:
        j = self.ids.index(pid)
        return slice(int(self.bases[j]), int(self.bases[j + 1]))


def _unique_counts(a: np.ndarray):
    return np.unique(a, return_counts=True)


class RankPlasticity:
    """All plastic projections of a rank, and their deferred events.

    Synapses are addressed in the plastic index space of a
    :class:`SynapseSpace`. ``weight`` holds every plastic weight (initially
    the image's); deferred events are kept per step in ``pending_pre`` /
    ``pending_post`` as lists of index arrays, in arrival order (canonical:
    the same on any rank count).
    """

    def __init__(self, synapses, specs: dict, n_local: int, dt: float):
        self.space = space = SynapseSpace(synapses, specs)
        self.weight = synapses.weights(space.csr).astype(np.float64, copy=True)
        delays = synapses.delays(space.csr)
        self.projections = []
        for j, pid in enumerate(space.ids):
            a, b = int(space.bases[j]), int(space.bases[j + 1])
            spec, label = specs[pid]
            self.projections.append(PlasticProjection(spec, label, self.weight[a:b],
                                                      delays[a:b], dt))
        targets = synapses.targets(space.csr)
        # synapses by target neuron (CSC) to find them when a neuron fires
        self.by_target = np.argsort(targets, kind="stable")
        self.target_ptr = np.searchsorted(targets[self.by_target], np.arange(n_local + 1))
        self.pending_pre: dict = {}      # step -> [(indices, may_repeat)]: deferred pre events
        self.pending_post: dict = {}     # step -> [indices]: dendritic post events
        self._set_seen()

    def _set_seen(self):
        self.delay_seen_pre = np.concatenate(
            [pp.axonal for pp in self.projections] or [np.zeros(0, np.int64)])
        self.delay_seen_post = np.concatenate(
            [pp.dendritic for pp in self.projections] or [np.zeros(0, np.int64)])
        # when every plastic synapse sees its pre (post) events with the same
        # delay, events need no grouping by delay
        self.uniform_pre = self.uniform_post = None
        for name, seen in (("uniform_pre", self.delay_seen_pre),
                           ("uniform_post", self.delay_seen_post)):
            values = np.unique(seen)
            if values.size == 1:
                setattr(self, name, int(values[0]))

    def set_delays(self, synapses) -> None:
        """Delays changed (``Projection.set(delay=...)``): new axonal and dendritic parts."""
        delays = synapses.delays(self.space.csr)
        for j, pp in enumerate(self.projections):
            pp.set_delays(delays[self.space.bases[j]:self.space.bases[j + 1]])
        self._set_seen()

    def state_arrays(self) -> dict:
        out = {"weight": self.weight}
        for pid, pp in zip(self.space.ids, self.projections):
            for name, array in pp.state_arrays().items():
                out[f"{pid}/{name}"] = array
        return out

    def _dispatch(self, index: np.ndarray, t: int, pre: bool, may_repeat: bool = True) -> None:
        """Apply pre or post events at time ``t`` to plastic synapses ``index``."""
        if index.size == 0:
            return
        if may_repeat:
            uniq, counts = _unique_counts(index)
            batches = [uniq[counts > r] for r in range(int(counts.max()))]
        else:
            batches = [index]
        bases = self.space.bases
        for batch in batches:
            if len(self.projections) == 1:
                pp = self.projections[0]
                (pp.pre_event if pre else pp.post_event)(batch, t)
                continue
            owners = self.space.owner(batch)
            for j in np.unique(owners).tolist():
                pp = self.projections[j]
                local = batch[owners == j] - bases[j]
                (pp.pre_event if pre else pp.post_event)(local, t)

    def pre_spikes(self, k: int, index: np.ndarray, may_repeat=True) -> np.ndarray:
        """Pre spikes (time stamp ``k+1``) reached plastic synapses ``index`` in step k.

        Returns the synapses whose PSP is scheduled now, like a static one
        (those that see the pre spike at once); the others are deferred.
        """
        if self.uniform_pre is not None:        # one delay for all: no sorting by delay
            d = self.uniform_pre
            if d == 0:
                self._dispatch(index, k + 1, pre=True, may_repeat=may_repeat)
                return index
            if index.size:
                self.pending_pre.setdefault(k + d, []).append((index, may_repeat))
            return index[:0]
        later = self.delay_seen_pre[index] > 0
        now = index[~later]
        self._dispatch(now, k + 1, pre=True, may_repeat=may_repeat)
        if later.any():
            deferred = index[later]
            d_all = self.delay_seen_pre[deferred]
            for d in np.unique(d_all).tolist():
                # seen (and delivered) at time k + 1 + d, i.e. in step k + d; a
                # synapse repeats within one step's list only with multiplicity
                self.pending_pre.setdefault(k + d, []).append(
                    (deferred[d_all == d] if d_all.size > 1 else deferred, may_repeat))
        return now

    def begin_step(self, k: int) -> np.ndarray:
        """Deferred events of step ``k`` (time ``k+1``); returns the synapses
        whose PSP must be added to this step's input."""
        post = self.pending_post.pop(k, None)
        if post:
            self._dispatch(np.concatenate(post), k + 1, pre=False, may_repeat=len(post) > 1)
        pre = self.pending_pre.pop(k, None)
        if not pre:
            return np.zeros(0, dtype=np.int64)
        index = pre[0][0] if len(pre) == 1 else np.concatenate([ids for ids, _ in pre])
        self._dispatch(index, k + 1, pre=True, may_repeat=any(r for _, r in pre))
        return index

    def post_spikes(self, k: int, fired_local: np.ndarray) -> None:
        """Neurons ``fired_local`` spiked in step k (time k+1)."""
        if self.by_target.size == 0 or fired_local.size == 0:
            return
        index = self.by_target[row_entries(self.target_ptr, np.unique(fired_local))]
        if index.size == 0:
            return
        if self.uniform_post is not None:
            d = self.uniform_post
            if d == 0:
                self._dispatch(index, k + 1, pre=False, may_repeat=False)
            else:
                self.pending_post.setdefault(k + d, []).append(index)
            return
        later = self.delay_seen_post[index] > 0
        self._dispatch(index[~later], k + 1, pre=False, may_repeat=False)
        if later.any():
            delayed = index[later]
            d_all = self.delay_seen_post[delayed]
            for d in np.unique(d_all).tolist():
                self.pending_post.setdefault(k + d, []).append(delayed[d_all == d])
