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
from .plasticity import DecayTable, index_owners


@dataclass
class ShortTermSpec:
    U: float
    tau_rec: float
    tau_facil: float


class ShortTermProjection:
    """The Tsodyks–Markram synapses of one projection on one rank."""

    def __init__(self, spec: ShortTermSpec, label: str, csr_ids: np.ndarray, dt: float):
        if not 0.0 <= spec.U <= 1.0:
            raise NetworkError(f"Projection '{label}': U={spec.U} must lie in [0, 1]")
        if not spec.tau_rec > 0 or spec.tau_facil < 0:
            raise NetworkError(f"Projection '{label}': tau_rec={spec.tau_rec} ms must be "
                               f"positive and tau_facil={spec.tau_facil} ms not negative")
        self.spec, self.csr_ids = spec, csr_ids
        n = csr_ids.size
        self.x = np.ones(n)
        self.u = np.zeros(n)
        self.last = np.full(n, -(1 << 40), dtype=np.int64)
        self.rec = DecayTable(dt, spec.tau_rec)
        self.facil = DecayTable(dt, spec.tau_facil) if spec.tau_facil > 0 else None

    def spike(self, local: np.ndarray, t: int, weights: np.ndarray) -> np.ndarray:
        """Spikes at time ``t`` on synapses ``local`` (unique): efficacies."""
        h = t - self.last[local]
        x, u = self.x[local], self.u[local]
        x = 1.0 + (x - x * u - 1.0) * self.rec(h)
        U = self.spec.U
        u = U + u * (1.0 - U) * self.facil(h) if self.facil is not None else np.full_like(u, U)
        self.x[local], self.u[local], self.last[local] = x, u, t
        return weights[self.csr_ids[local]] * x * u


class RankShortTerm:
    """All Tsodyks–Markram projections of a rank."""

    def __init__(self, n_synapses: int, projections: list):
        self.projections = projections
        self.owner, self.position = index_owners(n_synapses, projections)

    def is_short_term(self, syn):
        return self.owner[syn] >= 0

    def efficacies(self, syn: np.ndarray, t: int, weights: np.ndarray):
        """Pre spikes at time ``t`` on CSR synapses ``syn`` (canonical order, may
        repeat): returns ``(syn, efficacy)`` with one entry per spike."""
        uniq, counts = np.unique(syn, return_counts=True)
        out_syn, out_w = [], []
        for repeat in range(int(counts.max()) if counts.size else 0):
            batch = uniq[counts > repeat]
            eff = np.empty(batch.size)
            owners = self.owner[batch]
            for i in np.unique(owners).tolist():
                mine = owners == i
                eff[mine] = self.projections[i].spike(self.position[batch[mine]], t, weights)
            out_syn.append(batch)
            out_w.append(eff)
        return np.concatenate(out_syn), np.concatenate(out_w)
