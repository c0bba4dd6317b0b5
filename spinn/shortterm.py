"""Short-term dynamics of synapses, per synapse and exact: Tsodyks–Markram
(deterministic and stochastic), multi-quantal release, stochastic transmission.

Every parameter (``U``, ``tau_rec``, ``tau_facil``, ``n``, ``p``) is a value
per synapse: a number, a keyed random value, an array, a column of a
connection list or a function of distance, generated with the synapses on
the target's rank (:mod:`spinn.synapses`) and changed by ``Projection.set``.
Each synapse keeps its state — resources ``x`` (1 at rest; the recovered
flag of the stochastic model, the available release sites of the quantal
one), utilisation ``u`` and the step of its last spike — and advances it only
on its own spikes, in the canonical order, so it is identical on any rank
count. At a pre spike ``h`` ms after the previous one:

* ``tsodyks_markram`` (NEST's ``tsodyks2_synapse``, Fuhrmann et al. 2002)::

      x <- 1 + (x - x u - 1) exp(-h/tau_rec)
      u <- U + u (1 - U) exp(-h/tau_facil)        (u <- U when tau_facil = 0)

  and the spike carries ``weight * x * u``;
* ``stochastic_tsodyks_markram`` (PyNN's ``stochastic_stp_synapse`` for
  NEST): ``u`` as above; an unrecovered synapse recovers with probability
  ``1 - exp(-(t - t_surv)/tau_rec)`` (else ``t_surv <- t``); a recovered one
  releases with probability ``u`` (then it is unrecovered, ``t_surv <- t``);
  a release carries ``weight``, a failure nothing;
* ``multiquantal`` (NEST's ``quantal_stp_synapse``): ``u`` as above; each of
  the ``n - a`` empty sites refills with probability ``1 - exp(-h/tau_rec)``,
  then each of the ``a`` full sites releases with probability ``u``; the
  spike carries ``weight`` times the number released, which empty;
* ``stochastic`` (PyNN's ``SimpleStochasticSynapse``, NEST's
  ``bernoulli_synapse``): the spike carries ``weight`` with probability ``p``.

Random draws are counter-based (:func:`spinn.rng.hashed_uniform`) keyed by
the network seed, the projection, the synapse's identity ``(pre gid, post
gid, k)``, the step and the draw's number: the same on any rank count and
slicing, and a checkpoint need not store any generator state. Decays use
:class:`~spinn.plasticity.DecayTable` (``math.exp`` tables) for the one time
constant of a projection, or :func:`~spinn.rng.exact_exp` value by value
where its synapses have their own: never numpy's vectorised exp.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import NetworkError
from .plasticity import DecayTable, SynapseSpace
from .rng import exact_exp, hashed_uniform, stream_key, synapse_keys
from .values import Listed, RandomValue, frozen_array, is_homogeneous

#: the models, and the names of their per-synapse parameters
MODELS = {
    "tsodyks_markram": ("U", "tau_rec", "tau_facil"),
    "stochastic_tsodyks_markram": ("U", "tau_rec", "tau_facil"),
    "multiquantal": ("U", "n", "tau_rec", "tau_facil"),
    "stochastic": ("p",),
}

#: initial values of the state a user may set (``Projection.initialize``),
#: and the engine's name of each: the quantal model's available sites ``a``
#: are its resources ``x``
INITIAL = {
    "tsodyks_markram": {"u": "u", "x": "x"},
    "stochastic_tsodyks_markram": {"u": "u"},
    "multiquantal": {"u": "u", "a": "x"},
    "stochastic": {},
}

#: every parameter and state column a projection exports (NaN / defaults
#: where its model has none)
PARAMETERS = ("U", "tau_rec", "tau_facil", "n", "p")
STATE = ("x", "u", "last", "surv")

#: stream tag of the stochastic models' draws
_DRAWS = 0x5707
#: draw numbers of the quantal release (refills use 0 .. n - 1)
_RELEASE = 1 << 20
#: no spike yet
NEVER = -(1 << 40)


def _frozen(value):
    return frozen_array(value, np.float64) if isinstance(value, np.ndarray) else value


@dataclass(frozen=True, eq=False)
class ShortTermSpec:
    """A projection's short-term synapse model.

    ``params``: ``(name, synaptic value)`` for each of ``MODELS[model]``;
    ``initial``: ``(state name, synaptic value)`` set by
    ``Projection.initialize`` (the rest start at the model's defaults);
    ``seed``: the stochastic models' stream seed (the network seed).
    """
    model: str
    params: tuple
    initial: tuple = ()
    seed: int = 0

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"short-term model {self.model!r} is not one of {sorted(MODELS)}")
        params = dict(self.params)
        if set(params) != set(MODELS[self.model]):
            raise ValueError(f"short-term model {self.model!r} takes the parameters "
                             f"{MODELS[self.model]}, got {tuple(params)}")
        object.__setattr__(self, "params", tuple((name, _frozen(params[name]))
                                                 for name in MODELS[self.model]))
        object.__setattr__(self, "initial", tuple((str(k), _frozen(v))
                                                  for k, v in self.initial))
        object.__setattr__(self, "seed", int(self.seed))

    @property
    def parameters(self) -> dict:
        return dict(self.params)

    @property
    def stochastic(self) -> bool:
        return self.model != "tsodyks_markram"

    def for_rank(self) -> "ShortTermSpec":
        """The model and seed without the values (a rank keeps those per synapse
        in its synapse image): what a rank image stores."""
        return ShortTermSpec(self.model, tuple((name, None) for name, _ in self.params),
                             seed=self.seed)

    def values(self) -> tuple:
        """``(name, synaptic value)`` of everything generated per synapse: the
        parameters, and initial values under ``initial_<state>``."""
        return self.params + tuple((f"initial_{k}", v) for k, v in self.initial)


def check_values(label: str, name: str, values) -> None:
    """Per-synapse values of parameter ``name`` (array or number) in range,
    or a NetworkError naming the projection and the value."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return
    bad = None
    if not np.all(np.isfinite(v)):
        bad, why = v[~np.isfinite(v)][0], "is not finite"
    elif name in ("U", "p", "initial_u") and (v.min() < 0 or v.max() > 1):
        bad, why = (v.min() if v.min() < 0 else v.max()), "must lie in [0, 1]"
    elif name == "tau_rec" and not v.min() > 0:
        bad, why = v.min(), "ms must be positive"
    elif name == "tau_facil" and v.min() < 0:
        bad, why = v.min(), "ms must not be negative"
    elif name in ("n", "initial_a") and (v.min() < (1 if name == "n" else 0)
                                          or np.any(v != np.round(v))):
        wrong = (v < (1 if name == "n" else 0)) | (v != np.round(v))
        bad, why = v[wrong][0], ("must be a positive whole number of release sites"
                                 if name == "n" else "must be a whole number of sites")
    elif name == "initial_x" and (v.min() < 0 or v.max() > 1):
        bad, why = (v.min() if v.min() < 0 else v.max()), "must lie in [0, 1]"
    if bad is not None:
        raise NetworkError(f"Projection '{label}': {name.replace('initial_', 'initial ')}="
                           f"{float(bad):g} {why}")


def check_spec(spec: ShortTermSpec, label: str) -> None:
    """The numbers of a description (per-synapse values are checked at the build)."""
    for name, value in spec.values():
        if is_homogeneous(value):
            check_values(label, name, value)
        elif isinstance(value, np.ndarray):
            check_values(label, name, value[np.isfinite(value)])
        elif not (isinstance(value, (RandomValue, Listed)) or hasattr(value, "evaluate")):
            raise NetworkError(f"Projection '{label}': {name} given as "
                               f"{type(value).__name__} cannot be a synaptic value")
    initial = set(dict(spec.initial))
    unknown = initial - set(INITIAL[spec.model])
    if unknown:
        raise NetworkError(f"Projection '{label}': {spec.model} synapses have no state "
                           f"{sorted(unknown)[0]!r} to initialize; they have "
                           f"{sorted(INITIAL[spec.model]) or 'none'}")


class Decay:
    """``exp(-h * dt / tau)`` for synapses with their own ``tau`` (ms; 0 gives 0).

    One ``tau`` for the whole projection (a number in its description): a
    :class:`~spinn.plasticity.DecayTable`. Otherwise every synapse's decay is
    ``math.exp`` of its own argument (:func:`~spinn.rng.exact_exp`). Which
    of the two a projection uses follows from its description, never from
    the values a rank happens to hold, so a synapse decays by the same
    number on any rank count."""

    def __init__(self, tau, dt: float):
        self.tau = tau = np.asarray(tau, dtype=np.float64)
        self.dt = dt
        self.table = None
        if tau.ndim == 0 and tau > 0:
            self.table = DecayTable(dt, float(tau))

    def __call__(self, local: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Decay over ``h`` steps of synapses ``local``."""
        if self.table is not None:
            return self.table(h)
        if self.tau.ndim == 0:
            return np.zeros(h.size)
        out = np.zeros(h.size)
        tau = self.tau[local]
        positive = tau > 0
        out[positive] = exact_exp(-(h[positive] * self.dt) / tau[positive])
        return out


class ShortTermProjection:
    """The short-term state of one projection's synapses on one rank.

    ``params``: name -> values in the projection's synapse order (a 0-d
    array where every synapse has the same); ``ident``: each synapse's
    identity key (:func:`spinn.rng.synapse_keys`), for the random draws."""

    def __init__(self, pid: int, spec: ShortTermSpec, label: str, n: int, dt: float,
                 params: dict, ident: np.ndarray):
        self.pid, self.spec, self.label, self.n, self.dt = pid, spec, label, n, dt
        self.model = spec.model
        self.ident = ident
        self.key = int(stream_key(spec.seed, _DRAWS, pid))
        self.last = np.full(n, NEVER, dtype=np.int64)
        self.use(params)
        self.x = np.ones(n)
        self.u = np.zeros(n)
        self.surv = np.zeros(n, dtype=np.int64)
        if self.model == "multiquantal":
            self.u[:] = self.params["U"]
            self.x[:] = self.params["n"]
        for name, state in INITIAL[self.model].items():
            given = params.get(f"initial_{name}")
            if given is not None:
                getattr(self, state)[:] = given

    def use(self, params: dict) -> None:
        """Parameters (new values from ``Projection.set``); the state stays."""
        self.params = {name: np.asarray(params[name], dtype=np.float64)
                       for name in MODELS[self.model]}
        if "tau_rec" in self.params:
            self.rec = Decay(self.params["tau_rec"], self.dt)
            self.facil = Decay(self.params["tau_facil"], self.dt)
        if "n" in self.params:
            self.sites = self.params["n"].astype(np.int64)

    def _param(self, name: str, local: np.ndarray) -> np.ndarray:
        p = self.params[name]
        return p[local] if p.ndim else np.full(local.size, float(p))

    def _uniform(self, local: np.ndarray, t: int, draw: int, repeat: int) -> np.ndarray:
        key = stream_key(self.key, draw, repeat)
        return hashed_uniform(key, self.ident[local], t)

    def spike(self, local: np.ndarray, t: int, repeat: int = 0) -> np.ndarray:
        """Spikes at step ``t`` on synapses ``local`` (unique; ``repeat``: how many
        spikes these synapses saw at ``t`` already): each one's efficacy (a
        factor of its weight)."""
        if self.model == "stochastic":
            return (self._uniform(local, t, 0, repeat) < self._param("p", local)).astype(float)
        h = t - self.last[local]
        U = self._param("U", local)
        u_before = self.u[local]
        u = U + u_before * (1.0 - U) * self.facil(local, h)
        self.u[local], self.last[local] = u, t
        if self.model == "tsodyks_markram":
            x = self.x[local]
            x = 1.0 + (x - x * u_before - 1.0) * self.rec(local, h)
            self.x[local] = x
            return x * u
        return self._stochastic(local, t, repeat, h, u)

    def _stochastic(self, local, t, repeat, h, u):
        if self.model == "stochastic_tsodyks_markram":
            recovered = self.x[local] > 0
            waited = t - self.surv[local]
            survive = self.rec(local, waited)
            late = ~recovered
            back = late & (self._uniform(local, t, 0, repeat) > survive)
            self.surv[local[late & ~back]] = t
            recovered = recovered | back
            release = recovered & (self._uniform(local, t, 1, repeat) < u)
            self.x[local] = np.where(release, 0.0, recovered.astype(float))
            self.surv[local[release]] = t
            return release.astype(float)
        # multiquantal
        sites = self.sites[local] if self.sites.ndim else np.full(local.size, int(self.sites))
        a = np.minimum(self.x[local].astype(np.int64), sites)   # (n may have been set lower)
        empty = sites - a
        refill = 1.0 - self.rec(local, h)
        for j in range(int(empty.max()) if empty.size else 0):
            a += (j < empty) & (self._uniform(local, t, j, repeat) < refill)
        released = np.zeros(local.size, dtype=np.int64)
        for j in range(int(a.max()) if a.size else 0):
            released += (j < a) & (self._uniform(local, t, _RELEASE + j, repeat) < u)
        self.x[local] = a - released
        return released.astype(float)

    def columns(self) -> dict:
        """Every parameter and state column, one value per synapse (NaN where
        the model has no such parameter)."""
        out = {}
        for name in PARAMETERS:
            p = self.params.get(name)
            out[name] = (np.full(self.n, np.nan) if p is None
                         else np.broadcast_to(p, (self.n,)).astype(np.float64))
        for name in STATE:
            out[name] = getattr(self, name).copy()
        return out


class RankShortTerm:
    """All short-term projections of a rank, in a
    :class:`~spinn.plasticity.SynapseSpace` of their own."""

    def __init__(self, synapses, specs: dict, dt: float, local_gids):
        from .state import identity_of
        self.space = space = SynapseSpace(synapses, specs)
        self.projections = []
        for j, pid in enumerate(space.ids):
            a, b = int(space.bases[j]), int(space.bases[j + 1])
            spec, label = specs[pid]
            ident = None
            if spec.stochastic:         # the keys of the synapses' draws
                _, pre, post, k = identity_of(synapses, local_gids, space.csr[a:b])
                ident = synapse_keys(pre, post, k)
            self.projections.append(ShortTermProjection(
                pid, spec, label, b - a, dt, synapses.short_term_params(pid), ident))

    def use(self, synapses) -> None:
        """The parameters of ``synapses`` (after ``Projection.set``); state kept."""
        for pp in self.projections:
            pp.use(synapses.short_term_params(pp.pid))

    def state_arrays(self) -> dict:
        out = {}
        for pid, pp in zip(self.space.ids, self.projections):
            out.update({f"{pid}/{name}": getattr(pp, name) for name in STATE})
        return out

    def efficacies(self, index: np.ndarray, t: int, weights_of):
        """Pre spikes at time ``t`` on synapses ``index`` (canonical order, may
        repeat): returns ``(index, efficacy)`` with one entry per spike;
        ``weights_of(index)`` gives the synapses' weights."""
        uniq, counts = np.unique(index, return_counts=True)
        out_index, out_w = [], []
        for repeat in range(int(counts.max()) if counts.size else 0):
            batch = uniq[counts > repeat]
            eff = np.empty(batch.size)
            owners = self.space.owner(batch)
            for j in np.unique(owners).tolist():
                mine = owners == j
                eff[mine] = self.projections[j].spike(batch[mine] - self.space.bases[j], t,
                                                      repeat)
            out_index.append(batch)
            out_w.append(weights_of(batch) * eff)
        return np.concatenate(out_index), np.concatenate(out_w)
