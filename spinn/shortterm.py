"""Short-term plasticity: the Tsodyks–Markram synapse, per synapse and exact.

Each synapse keeps its resources ``x`` (1 at rest), its utilisation ``u``
(PyNN's initial value 0) and the time of its last spike. At a pre spike,
``h`` steps after the previous one (NEST's ``tsodyks2_synapse``, Fuhrmann et
al. 2002)::

    x <- 1 + (x - x u - 1) exp(-h/tau_rec)
    u <- U + u (1 - U) exp(-h/tau_facil)        (u <- U when tau_facil = 0)

and the spike carries ``weight * x * u``. The state lives with the synapse on
the target's rank and advances only on the synapse's own spikes, in the
canonical order, so it is identical on any rank count. Decays come from
:class:`~spinn.plasticity.DecayTable` (``math.exp`` tables), not numpy's exp.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import NetworkError
from .plasticity import DecayTable, SynapseSpace


@dataclass(frozen=True)
class ShortTermSpec:
    U: float
    tau_rec: float
    tau_facil: float


class ShortTermProjection:
    """The Tsodyks–Markram state of one projection's synapses on one rank."""

    def __init__(self, spec: ShortTermSpec, label: str, n: int, dt: float):
        if not 0.0 <= spec.U <= 1.0:
            raise NetworkError(f"Projection '{label}': U={spec.U} must lie in [0, 1]")
        if not spec.tau_rec > 0 or spec.tau_facil < 0:
            raise NetworkError(f"Projection '{label}': tau_rec={spec.tau_rec} ms must be "
                               f"positive and tau_facil={spec.tau_facil} ms not negative")
        self.spec = spec
        self.x = np.ones(n)
        self.u = np.zeros(n)
        self.last = np.full(n, -(1 << 40), dtype=np.int64)
        self.rec = DecayTable(dt, spec.tau_rec)
        self.facil = DecayTable(dt, spec.tau_facil) if spec.tau_facil > 0 else None

    def spike(self, local: np.ndarray, t: int) -> np.ndarray:
        """Spikes at time ``t`` on synapses ``local`` (unique): their ``x * u``."""
        h = t - self.last[local]
        x, u = self.x[local], self.u[local]
        x = 1.0 + (x - x * u - 1.0) * self.rec(h)
        U = self.spec.U
        u = U + u * (1.0 - U) * self.facil(h) if self.facil is not None else np.full_like(u, U)
        self.x[local], self.u[local], self.last[local] = x, u, t
        return x * u


class RankShortTerm:
    """All Tsodyks–Markram projections of a rank, in a
    :class:`~spinn.plasticity.SynapseSpace` of their own."""

    def __init__(self, synapses, specs: dict, dt: float):
        self.space = space = SynapseSpace(synapses, specs)
        self.projections = [ShortTermProjection(*specs[pid], int(space.bases[j + 1]
                                                                - space.bases[j]), dt)
                            for j, pid in enumerate(space.ids)]

    def state_arrays(self) -> dict:
        out = {}
        for pid, pp in zip(self.space.ids, self.projections):
            out.update({f"{pid}/x": pp.x, f"{pid}/u": pp.u, f"{pid}/last": pp.last})
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
                eff[mine] = self.projections[j].spike(batch[mine] - self.space.bases[j], t)
            out_index.append(batch)
            out_w.append(weights_of(batch) * eff)
        return np.concatenate(out_index), np.concatenate(out_w)
