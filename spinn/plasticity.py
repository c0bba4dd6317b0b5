"""Spike-timing-dependent plasticity, exact, vectorised and distributed.

Plastic weights live in the target rank's synapse rows (the same CSR as
static synapses), so every update is local: pre spikes arrive as packets,
post spikes are local. Each synapse keeps its own traces, so *all* pairs
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

from .csr import row_entries
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


@dataclass
class PlasticitySpec:
    """A projection's plasticity rule (scalar parameters, PyNN units)."""
    timing: str                     # "pair", "nearest" or "vogels"
    params: dict                    # tau_plus, tau_minus, A_plus, A_minus | tau, eta, rho
    w_min: float
    w_max: float
    mu_plus: float = 0.0
    mu_minus: float = 0.0
    dendritic_delay_fraction: float = 1.0


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
    """The plastic synapses of one projection on one rank."""

    def __init__(self, spec: PlasticitySpec, label: str, csr_ids: np.ndarray,
                 delay_steps: np.ndarray, dt: float):
        self.spec, self.label = spec, label
        self.csr_ids = csr_ids                      # positions in the rank's CSR
        self.delay = delay_steps
        p = spec.params
        if spec.timing == "vogels":
            tau_plus = tau_minus = p["tau"]
        else:
            tau_plus, tau_minus = p["tau_plus"], p["tau_minus"]
        for name, tau in (("tau_plus", tau_plus), ("tau_minus", tau_minus)):
            if not tau > 0:
                raise NetworkError(f"Projection '{label}': {name}={tau} ms must be positive")
        n = csr_ids.size
        self.x = Trace(n, DecayTable(dt, tau_plus))      # pre events seen
        self.y = Trace(n, DecayTable(dt, tau_minus))     # post events seen
        self.reset = spec.timing == "nearest"
        f = spec.dendritic_delay_fraction
        self.axonal = np.rint((1.0 - f) * delay_steps).astype(np.int64)   # pre seen later
        self.dendritic = delay_steps - self.axonal                         # post seen later
        if spec.timing == "vogels":
            self.alpha = 2.0 * p["rho"] * p["tau"] / 1000.0

    def _clip(self, w):
        return np.clip(w, self.spec.w_min, self.spec.w_max, out=w)

    def _change(self, w, trace, plus: bool):
        """The weight change for events with the other side's ``trace``."""
        s, p = self.spec, self.spec.params
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

    def pre_event(self, weights: np.ndarray, local: np.ndarray, t: int, ids=None) -> None:
        """Pre spikes seen at time ``t`` by synapses ``local`` (unique); ``ids``
        are their CSR positions when the caller already has them."""
        ids = self.csr_ids[local] if ids is None else ids
        w = weights[ids]
        w += self._change(w, self.y.strictly_before(local, t), plus=False)
        weights[ids] = self._clip(w)
        self.x.add_event(local, t, reset=self.reset)

    def post_event(self, weights: np.ndarray, local: np.ndarray, t: int, ids=None) -> None:
        """Post spikes seen at time ``t`` by synapses ``local`` (unique)."""
        ids = self.csr_ids[local] if ids is None else ids
        w = weights[ids]
        w += self._change(w, self.x.strictly_before(local, t), plus=True)
        weights[ids] = self._clip(w)
        self.y.add_event(local, t, reset=self.reset)


def index_owners(n_synapses: int, projections: list):
    """For each CSR synapse: which of ``projections`` (each with ``csr_ids``)
    holds it (-1: none) and at which position in that projection."""
    owner = np.full(n_synapses, -1, dtype=np.int64)
    position = np.zeros(n_synapses, dtype=np.int64)
    for i, p in enumerate(projections):
        owner[p.csr_ids] = i
        position[p.csr_ids] = np.arange(p.csr_ids.size)
    return owner, position


def _unique_counts(a: np.ndarray):
    return np.unique(a, return_counts=True)


class RankPlasticity:
    """All plastic projections of a rank, and their deferred events.

    ``owner[s]`` is the plastic projection (index into ``projections``) of CSR
    synapse ``s`` or -1, ``position[s]`` its index inside that projection.
    Deferred events are kept per step in ``pending`` as lists of arrays of
    CSR synapse ids, in arrival order (canonical: the same on any rank count).
    """

    def __init__(self, n_synapses: int, projections: list, syn_target: np.ndarray,
                 n_local: int):
        self.projections = projections
        self.owner, self.position = index_owners(n_synapses, projections)
        plastic = np.flatnonzero(self.owner >= 0)
        #: every synapse of the rank is plastic (no static/plastic split needed)
        self.all_plastic = plastic.size == n_synapses
        # synapses by target neuron (CSC) to find them when a neuron fires
        order = np.argsort(syn_target[plastic], kind="stable")
        self.by_target = plastic[order]
        self.target_ptr = np.searchsorted(syn_target[plastic][order], np.arange(n_local + 1))
        self.pending_pre: dict = {}      # step -> [csr ids]: axonal pre events (and delivery)
        self.pending_post: dict = {}     # step -> [csr ids]: dendritic post events
        self.delay_seen_pre = np.zeros(n_synapses, dtype=np.int64)
        self.delay_seen_post = np.zeros(n_synapses, dtype=np.int64)
        for pp in projections:
            self.delay_seen_pre[pp.csr_ids] = pp.axonal
            self.delay_seen_post[pp.csr_ids] = pp.dendritic
        # when every plastic synapse sees its pre (post) events with the same
        # delay, events need no grouping by delay
        self.uniform_pre = self.uniform_post = None
        for name, seen in (("uniform_pre", self.delay_seen_pre),
                           ("uniform_post", self.delay_seen_post)):
            values = np.unique(seen[plastic])
            if values.size == 1:
                setattr(self, name, int(values[0]))

    def is_plastic(self, syn: np.ndarray) -> np.ndarray:
        return self.owner[syn] >= 0

    def _dispatch(self, syn: np.ndarray, weights, t: int, pre: bool,
                  may_repeat: bool = True) -> None:
        """Apply pre or post events at time ``t`` to CSR synapses ``syn``."""
        if syn.size == 0:
            return
        if may_repeat:
            uniq, counts = _unique_counts(syn)
            batches = [uniq[counts > r] for r in range(int(counts.max()))]
        else:
            batches = [syn]
        for batch in batches:
            if len(self.projections) == 1:
                pp = self.projections[0]
                (pp.pre_event if pre else pp.post_event)(weights, self.position[batch], t,
                                                         ids=batch)
                continue
            owners = self.owner[batch]
            for i in np.unique(owners).tolist():
                pp = self.projections[i]
                local = self.position[batch[owners == i]]
                (pp.pre_event if pre else pp.post_event)(weights, local, t)

    def pre_spikes(self, k: int, syn: np.ndarray, weights, may_repeat=True) -> np.ndarray:
        """Pre spikes (time stamp ``k+1``) reached plastic synapses ``syn`` in step k.

        Returns the synapses whose PSP is scheduled now, like a static one
        (those that see the pre spike at once); the others are deferred.
        """
        if self.uniform_pre is not None:        # one delay for all: no sorting by delay
            d = self.uniform_pre
            if d == 0:
                self._dispatch(syn, weights, k + 1, pre=True, may_repeat=may_repeat)
                return syn
            if syn.size:
                self.pending_pre.setdefault(k + d, []).append((syn, may_repeat))
            return syn[:0]
        later = self.delay_seen_pre[syn] > 0
        now = syn[~later]
        self._dispatch(now, weights, k + 1, pre=True, may_repeat=may_repeat)
        if later.any():
            deferred = syn[later]
            d_all = self.delay_seen_pre[deferred]
            for d in np.unique(d_all).tolist():
                # seen (and delivered) at time k + 1 + d, i.e. in step k + d; a
                # synapse repeats within one step's list only with multiplicity
                self.pending_pre.setdefault(k + d, []).append(
                    (deferred[d_all == d] if d_all.size > 1 else deferred, may_repeat))
        return now

    def begin_step(self, k: int, weights) -> np.ndarray:
        """Deferred events of step ``k`` (time ``k+1``); returns the synapses
        whose PSP must be added to this step's input."""
        post = self.pending_post.pop(k, None)
        if post:
            self._dispatch(np.concatenate(post), weights, k + 1, pre=False,
                           may_repeat=len(post) > 1)
        pre = self.pending_pre.pop(k, None)
        if not pre:
            return np.zeros(0, dtype=np.int64)
        syn = pre[0][0] if len(pre) == 1 else np.concatenate([ids for ids, _ in pre])
        self._dispatch(syn, weights, k + 1, pre=True, may_repeat=any(r for _, r in pre))
        return syn

    def post_spikes(self, k: int, fired_local: np.ndarray, weights) -> None:
        """Neurons ``fired_local`` spiked in step k (time k+1)."""
        if self.by_target.size == 0 or fired_local.size == 0:
            return
        syn = self.by_target[row_entries(self.target_ptr, np.unique(fired_local))]
        if syn.size == 0:
            return
        if self.uniform_post is not None:
            d = self.uniform_post
            if d == 0:
                self._dispatch(syn, weights, k + 1, pre=False, may_repeat=False)
            else:
                self.pending_post.setdefault(k + d, []).append(syn)
            return
        later = self.delay_seen_post[syn] > 0
        self._dispatch(syn[~later], weights, k + 1, pre=False, may_repeat=False)
        if later.any():
            delayed = syn[later]
            d_all = self.delay_seen_post[delayed]
            for d in np.unique(d_all).tolist():
                self.pending_post.setdefault(k + d, []).append(delayed[d_all == d])
