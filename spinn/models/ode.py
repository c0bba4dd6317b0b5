"""Neurons whose membrane equation is integrated numerically.

Used where the membrane has no exact propagator: conductance-based synapses
(the current ``g(t) (E - v)`` makes the equation time-varying in ``v``), the
exponential term of AdEx, the quadratic term of Izhikevich, Hodgkin-Huxley
channels.

Scheme
------
Step ``k`` (from ``k*dt`` to ``(k+1)*dt``) is split into ``n`` equal substeps
``h = dt/n`` of the classical fourth-order Runge-Kutta method, with
``n = ceil(dt / max_substep_ms)`` and ``max_substep_ms`` a constant of each
model, chosen from the error measured against ``scipy.integrate.solve_ivp``
(``rtol=1e-10``; the numbers are in each model's docstring). Synaptic
conductances are *not* part of the RK4 state: their shape (exponential,
alpha) is solved exactly and the RK4 stages read them at the stage times.
A fixed number of substeps gives every neuron the same work, keeps the step
a handful of whole-array operations, and makes a neuron's trajectory a
function of its own parameters and input only (an adaptive step shared by
a vector of neurons would depend on which neurons share the vector).

Order of operations in a step (the order of :mod:`spinn.models.lif`)
-------------------------------------------------------------------
1. the membrane variables are integrated over the step with the synaptic
   state of the start of the step; while refractory, ``v`` is held (its
   derivative is zero) and the other variables still evolve with
   ``v = v_reset``, as in NEST's ``aeif_*``/``iaf_cond_*`` models;
2. the refractory counter counts down;
3. the synapses advance to the end of the step and take the input that
   arrives in this step;
4. the threshold is checked on the grid; a spike gets the stamp
   ``(k+1)*dt`` and the reset happens at that time.

Models with ``reset_within_step`` (AdEx, Izhikevich) instead reset where the
threshold is crossed, as NEST's ``aeif`` models do: after each substep, for
the neurons whose ``v`` reached the threshold, the crossing is located on the
cubic Hermite interpolant of the substep (``v`` and ``dv/dt`` at both ends,
error O(h^4)), the state there is interpolated the same way and reset, and
the rest of the substep is integrated from the reset state with one RK4 step
of that length. The spike is still stamped ``(k+1)*dt``, but the trajectory
does not drift from the continuous model by a fraction of a step per spike.
A refractory neuron is then held from the crossing to the end of the step
and ``round(tau_refrac/dt)`` more steps (NEST: ``RefractoryCounts + 1``).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import NetworkError
from .lif import keep_hidden_state, refractory_steps


def substeps(dt: float, max_substep_ms: float) -> int:
    """Number of equal RK4 substeps of at most ``max_substep_ms`` in a step.

    >>> substeps(0.1, 0.01), substeps(0.1, 0.025), substeps(1.0, 2.0)
    (10, 4, 1)
    """
    return max(1, math.ceil(dt / max_substep_ms - 1e-9))


def stage_times(dt: float, n_sub: int) -> np.ndarray:
    """Times (ms from the start of the step) at which the RK4 stages
    evaluate the right-hand side: index ``j`` is ``j`` half substeps; the
    last one is exactly ``dt``."""
    t = np.arange(2 * n_sub + 1) * (dt / (2 * n_sub))
    t[-1] = dt
    return t


def rk4_step(f, y: np.ndarray, h, times):
    """One classical RK4 step of length ``h`` (a scalar or one per neuron).

    ``f(y, t)`` gives ``dy/dt``; ``times`` are the labels ``f`` receives for
    the start, the middle and the end of the step (stage indices, or times).
    Returns ``(y_new, f(y, start))``.
    """
    start, middle, end = times
    k1 = f(y, start)
    k2 = f(y + 0.5 * h * k1, middle)
    k3 = f(y + 0.5 * h * k2, middle)
    k4 = f(y + h * k3, end)
    return y + h / 6.0 * (k1 + 2.0 * (k2 + k3) + k4), k1


def hermite(y0, y1, m0, m1, s):
    """Cubic Hermite interpolant at fraction ``s`` of a step, from the values
    ``y0, y1`` and the slopes times the step ``m0, m1``."""
    s2 = s * s
    s3 = s2 * s
    return ((2 * s3 - 3 * s2 + 1) * y0 + (s3 - 2 * s2 + s) * m0
            + (3 * s2 - 2 * s3) * y1 + (s3 - s2) * m1)


def crossing_fraction(v0, v1, m0, m1, threshold, iterations: int = 8) -> np.ndarray:
    """Fraction ``s`` in [0, 1] of a step where the cubic Hermite interpolant
    of ``v`` (see :func:`hermite`) reaches ``threshold``, given ``v1 >=
    threshold`` (0 if ``v0`` is already there). Newton's method kept inside
    the bracket, falling back to bisection.

    >>> float(crossing_fraction(np.array([0.0]), np.array([2.0]), 2.0, 2.0, 1.5)[0])
    0.75
    """
    lo = np.zeros_like(v0)
    hi = np.ones_like(v0)
    s = np.clip((threshold - v0) / np.where(v1 > v0, v1 - v0, 1.0), 0.0, 1.0)
    for _ in range(iterations):
        s2 = s * s
        value = hermite(v0, v1, m0, m1, s) - threshold
        slope = ((6 * s2 - 6 * s) * v0 + (3 * s2 - 4 * s + 1) * m0
                 + (6 * s - 6 * s2) * v1 + (3 * s2 - 2 * s) * m1)
        below = value < 0
        lo = np.where(below, s, lo)
        hi = np.where(below, hi, s)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = s - value / slope
        s = np.where((newton >= lo) & (newton <= hi), newton, 0.5 * (lo + hi))
    return np.where(v0 >= threshold, 0.0, s)


def require(ok: np.ndarray, model: str, message: str, gids: np.ndarray) -> None:
    """Raise :class:`NetworkError` naming the first neuron where ``ok`` is false."""
    if not np.all(ok):
        first = int(np.flatnonzero(~np.asarray(ok, dtype=bool))[0])
        raise NetworkError(f"{model} (neuron id {int(gids[first])}): {message}")


def hold(dv: np.ndarray, free: np.ndarray | None) -> np.ndarray:
    """``dv/dt`` with zeros where a neuron is refractory (``free`` false)."""
    return dv if free is None else np.where(free, dv, 0.0)


class VoltageJumpSynapse:
    """Delta synapses: a weight (mV) is added to ``v`` when it arrives."""
    parameters = ()
    state = ()
    hidden_state = ()

    def __init__(self, p: dict, dt: float, n_sub: int):
        pass

    def receive(self, s: dict, exc: np.ndarray, inh: np.ndarray) -> None:
        s["v"] += exc + inh


class IntegratedGroup:
    """A cell group whose ``membrane_state`` is integrated by RK4 substeps.

    Subclasses give ``membrane_parameters``, ``membrane_state`` (``v``
    first), ``synapse_class``, ``max_substep_ms``, the per-neuron constants
    of their equations (:meth:`constants`), the terms that vary in time
    (:meth:`begin_step`, :meth:`terms`, :meth:`terms_at`) and :meth:`rhs`.
    By default a neuron has a fixed threshold (:meth:`threshold`), is reset
    to ``v_reset`` (:meth:`reset`) and held for ``tau_refrac``; a model
    with other rules overrides :meth:`fire`.
    """
    is_source = False
    recordable = ("spikes", "v")
    synapse_class = None
    membrane_parameters: tuple = ()
    membrane_state: tuple = ("v",)
    max_substep_ms = 0.01
    reset_within_step = False

    @classmethod
    def parameter_names(cls):
        return cls.membrane_parameters + cls.synapse_class.parameters

    @classmethod
    def state_names(cls):
        return cls.membrane_state + cls.synapse_class.state

    def __init__(self, gids: np.ndarray, params: dict, initial: dict, dt: float, seed: int):
        self.gids = gids
        self.n = len(gids)
        self.dt = dt
        self.n_sub = substeps(dt, self.max_substep_ms)
        self.h = dt / self.n_sub
        self.state = {name: np.array(initial[name], dtype=np.float64)
                      for name in self.state_names()}
        self.i_inj = np.zeros(self.n)
        self.refractory = np.zeros(self.n, dtype=np.int64)
        self.syn = None
        self.set_parameters(params)

    def set_parameters(self, params: dict) -> None:
        """Use new parameter values from the next step on; the dynamic state
        (``state``, refractory counters, hidden synaptic state) is kept."""
        self.p = params
        self.ref_steps = (refractory_steps(params["tau_refrac"], self.dt)
                          if "tau_refrac" in params else np.zeros(self.n, dtype=np.int64))
        self.syn = keep_hidden_state(self.synapse_class(params, self.dt, self.n_sub), self.syn)
        self.c = self.constants(params)

    # -- the equations (subclasses) ----------------------------------------------
    def constants(self, p: dict) -> dict:
        """Per-neuron arrays :meth:`rhs` reads (subsets are taken for the
        neurons that cross the threshold within a step)."""
        return {}

    def begin_step(self, i_ext: np.ndarray) -> None:
        """Prepare :meth:`terms` for this step; ``i_ext`` (nA) is the constant
        input of the step (``i_offset + i_inj``)."""

    def terms(self, j: int):
        """The time-varying terms of :meth:`rhs` at stage ``j`` (all neurons)."""
        return ()

    def terms_at(self, idx: np.ndarray, t):
        """The same for neurons ``idx`` at times ``t`` (ms into the step)."""
        return ()

    def rhs(self, y: np.ndarray, c: dict, terms: tuple, free) -> np.ndarray:
        """``d(membrane_state)/dt`` (one row per variable); ``free`` marks
        the neurons that are not refractory (None: all of them), whose ``v``
        must not move (see :func:`hold`)."""
        raise NotImplementedError

    # -- threshold and reset -------------------------------------------------------
    def threshold(self) -> np.ndarray:
        return self.p["v_thresh"]

    def reset(self, y: np.ndarray, idx: np.ndarray) -> None:
        """Reset the membrane state ``y`` (columns: neurons ``idx``) after a spike."""
        y[0] = self.p["v_reset"][idx]

    def fire(self, v_start: np.ndarray) -> np.ndarray:
        """Grid threshold: reset and clamp the neurons at or above threshold."""
        v = self.state["v"]
        fired = np.flatnonzero(v >= self.threshold())
        if fired.size:
            y = np.stack([self.state[name][fired] for name in self.membrane_state])
            self.reset(y, fired)
            for name, row in zip(self.membrane_state, y):
                self.state[name][fired] = row
            self.refractory[fired] = self.ref_steps[fired]
        return fired

    # -- the step ------------------------------------------------------------------
    def step(self, k: int, exc: np.ndarray, inh: np.ndarray):
        s = self.state
        held = self.refractory > 0
        free = ~held if held.any() else None
        v_start = s["v"].copy()
        self.begin_step(self.p["i_offset"] + self.i_inj)
        y = np.stack([s[name] for name in self.membrane_state])
        counts = None
        h, c = self.h, self.c
        for i in range(self.n_sub):
            def f(yy, j, free=free):
                return self.rhs(yy, c, self.terms(j), free)
            y1, k1 = rk4_step(f, y, h, (2 * i, 2 * i + 1, 2 * i + 2))
            if self.reset_within_step:
                crossed = np.flatnonzero(y1[0] >= self.threshold())
                if crossed.size:
                    if counts is None:
                        counts = np.zeros(self.n, dtype=np.int64)
                    free = self._spike_within(y, y1, k1, crossed, i * h, free, counts)
            y = y1
        for name, row in zip(self.membrane_state, y):
            s[name][...] = row
        self.refractory -= self.refractory > 0
        self.syn.receive(s, exc, inh)
        fired = self.fire(v_start)
        if counts is None:
            return fired, None
        counts[fired] += 1
        fired = np.flatnonzero(counts)
        counts = counts[fired]
        return fired, (counts if counts.max() > 1 else None)

    def _spike_within(self, y0, y1, k1, idx, t0, free, counts):
        """Reset the neurons ``idx`` whose ``v`` crossed the threshold in the
        substep from ``t0`` (``y0`` -> ``y1``, ``k1`` the slope at ``y0``):
        locate the crossing, reset there, integrate the rest of the substep.
        Returns the updated ``free`` mask."""
        h = self.h
        c = {name: value[idx] for name, value in self.c.items()}
        sub_free = None if free is None else free[idx]
        Y0, Y1 = y0[:, idx], y1[:, idx]
        M0 = h * k1[:, idx]
        M1 = h * self.rhs(Y1, c, self.terms_at(idx, t0 + h), sub_free)
        s = crossing_fraction(Y0[0], Y1[0], M0[0], M1[0], self.threshold()[idx])
        y = hermite(Y0, Y1, M0, M1, s)
        self.reset(y, idx)
        counts[idx] += 1
        clamp = self.ref_steps[idx] > 0
        if clamp.any():
            self.refractory[idx[clamp]] = self.ref_steps[idx[clamp]] + 1
            free = np.ones(self.n, dtype=bool) if free is None else free
            free[idx[clamp]] = False
            sub_free = ~clamp
        start = t0 + s * h
        rest = (t0 + h) - start

        def f(yy, t):
            return self.rhs(yy, c, self.terms_at(idx, t), sub_free)
        y1[:, idx] = rk4_step(f, y, rest, (start, start + 0.5 * rest, t0 + h))[0]
        return free
