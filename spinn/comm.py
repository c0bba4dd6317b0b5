"""The exchange between ranks, and the only module that imports mpi4py.

An exchange hosts one or more ranks in this process and offers what the
engine needs collectively:

* :meth:`~LocalExchange.connect` — once per build: each hosted rank's
  neighbours (the ranks it sends spikes to and receives them from, known
  from the routing footprints);
* :meth:`~LocalExchange.exchange` — each hosted rank's keys, grouped by
  destination neighbour, go to exactly those ranks. Under MPI: one
  ``Neighbor_alltoall`` of counts and one ``Neighbor_alltoallv`` of uint32
  keys on a distributed-graph communicator, so nothing per step is sized by
  the number of ranks; keys a rank sends to itself never enter MPI.
  :meth:`~LocalExchange.exchange_batch` does the same for the steps of one
  minimum delay at once (NEST's scheme), still two collectives;
* :meth:`~LocalExchange.alltoallv` — build-time requests between ranks
  (typed int64 buffers);
* :meth:`~LocalExchange.allgatherv` — gathered results as typed buffers
  (counts, then ``Allgatherv``), never pickles of large arrays;
* :meth:`~LocalExchange.allreduce` and :meth:`~LocalExchange.allgather`
  (small metadata only: digests, error messages, timings).

``MPIExchange`` hosts one rank per MPI process; ``LocalExchange`` several
virtual ranks in one process, so tests (and machines without an MPI library)
can run any rank count without ``mpiexec``.
"""
from __future__ import annotations

import os
from typing import Protocol, Sequence

import numpy as np

from .errors import SimulationStateError


class Exchange(Protocol):
    n_ranks: int
    local_ranks: tuple
    process_rank: int
    n_processes: int

    def connect(self, out_ranks: Sequence, in_ranks: Sequence) -> None: ...
    def exchange(self, sends: Sequence[tuple]) -> list: ...
    def exchange_batch(self, batch: Sequence[Sequence[tuple]]) -> list: ...
    def alltoallv(self, sends: Sequence[Sequence[np.ndarray]]) -> list: ...
    def allgatherv(self, arrays: Sequence[np.ndarray]) -> np.ndarray: ...
    def allreduce(self, value, op: str = "sum"): ...
    def allgather(self, obj) -> list: ...
    def barrier(self) -> None: ...


def _empty(dtype) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


class LocalExchange:
    """``n_ranks`` virtual ranks, all in this process."""

    def __init__(self, n_ranks: int = 1):
        if n_ranks < 1:
            raise ValueError(f"n_ranks must be >= 1, got {n_ranks}")
        self.n_ranks = n_ranks
        self.local_ranks = tuple(range(n_ranks))
        self.process_rank = 0
        self.n_processes = 1
        self._out = [np.zeros(0, np.int64)] * n_ranks

    def connect(self, out_ranks, in_ranks) -> None:
        """``out_ranks[i]``: the ranks hosted rank ``i`` sends to (ascending)."""
        self._out = [np.asarray(o, dtype=np.int64) for o in out_ranks]

    def exchange(self, sends):
        """``sends[i] = (counts, keys)`` of hosted rank ``i``, counts aligned with
        its ``out_ranks``; returns the keys each hosted rank receives."""
        n = self.n_ranks
        if n == 1:
            return [sends[0][1]]
        pieces = [[] for _ in range(n)]
        for src, (counts, keys) in enumerate(sends):
            bounds = np.concatenate(([0], np.cumsum(counts)))
            for j, dst in enumerate(self._out[src].tolist()):
                if bounds[j + 1] > bounds[j]:
                    pieces[dst].append(keys[bounds[j]:bounds[j + 1]])
        return [np.concatenate(p) if p else _empty(np.uint32) for p in pieces]

    def exchange_batch(self, batch):
        """Several steps at once: ``batch[j]`` is step ``j``'s ``sends`` (as for
        :meth:`exchange`); returns ``received[j]``, step ``j``'s keys per hosted rank."""
        return [self.exchange(sends) for sends in batch]

    def alltoallv(self, sends):
        """``sends[i][r]``: array hosted rank ``i`` sends to rank ``r``; returns
        ``received[i][r]``: what hosted rank ``i`` got from rank ``r``."""
        return [[sends[src][dst] for src in range(self.n_ranks)]
                for dst in range(self.n_ranks)]

    def allgatherv(self, arrays):
        """The hosted ranks' arrays, concatenated in rank order."""
        return np.concatenate(arrays) if len(arrays) > 1 else np.asarray(arrays[0])

    def allreduce(self, value, op: str = "sum"):
        return value

    def allgather(self, obj):
        return [obj]

    def barrier(self):
        pass


class MPIExchange:
    """One rank per MPI process, on a ``Dup()`` of ``COMM_WORLD``."""

    def __init__(self, comm=None):
        MPI = mpi()
        if MPI is None:
            raise SimulationStateError(f"cannot use MPI: {_mpi_problem}")
        self._MPI = MPI
        self.comm = (comm or MPI.COMM_WORLD).Dup()
        self.n_ranks = self.comm.Get_size()
        self.process_rank = self.comm.Get_rank()
        self.n_processes = self.n_ranks
        self.local_ranks = (self.process_rank,)
        self._graph = None
        self._recv = np.zeros(1024, dtype=np.uint32)

    def connect(self, out_ranks, in_ranks) -> None:
        me = self.process_rank
        out = np.asarray(out_ranks[0], dtype=np.int64)
        inn = np.asarray(in_ranks[0], dtype=np.int64)
        self._self_slot = int(np.flatnonzero(out == me)[0]) if (out == me).any() else -1
        self._out = out[out != me]
        self._in = inn[inn != me]
        self._out_pos = np.flatnonzero(out != me)
        if self._graph is not None:
            self._graph.Free()
        self._graph = self.comm.Create_dist_graph_adjacent(
            self._in.tolist(), self._out.tolist(), reorder=False)
        self._send_counts = np.zeros(self._out.size, dtype=np.int64)
        self._recv_counts = np.zeros(self._in.size, dtype=np.int64)

    def exchange(self, sends):
        counts, keys = sends[0]
        MPI = self._MPI
        bounds = np.concatenate(([0], np.cumsum(counts)))
        mine = (keys[bounds[self._self_slot]:bounds[self._self_slot + 1]]
                if self._self_slot >= 0 else _empty(np.uint32))
        send_counts = self._send_counts
        send_counts[:] = counts[self._out_pos]
        send_displ = bounds[:-1][self._out_pos]
        recv_counts = self._recv_counts
        self._graph.Neighbor_alltoall([send_counts, MPI.INT64_T], [recv_counts, MPI.INT64_T])
        total = int(recv_counts.sum())
        if total > self._recv.size:
            self._recv = np.zeros(max(total, 2 * self._recv.size), dtype=np.uint32)
        recv_displ = np.cumsum(recv_counts) - recv_counts
        self._graph.Neighbor_alltoallv(
            [np.ascontiguousarray(keys, dtype=np.uint32), (send_counts, send_displ),
             MPI.UINT32_T],
            [self._recv, (recv_counts, recv_displ), MPI.UINT32_T])
        if total == 0:
            return [mine.copy()]
        return [np.concatenate((mine, self._recv[:total]))]

    def exchange_batch(self, batch):
        """The keys of several steps in two collectives: the counts per
        (neighbour, step), then every key, each neighbour's in step order."""
        MPI = self._MPI
        n_steps = len(batch)
        if n_steps == 1:
            return [self.exchange(batch[0])]
        n_out = self._out.size
        counts = np.zeros((n_out, n_steps), dtype=np.int64)
        mine, parts = [], [[] for _ in range(n_out)]
        for j, sends in enumerate(batch):
            step_counts, keys = sends[0]
            bounds = np.concatenate(([0], np.cumsum(step_counts)))
            mine.append(keys[bounds[self._self_slot]:bounds[self._self_slot + 1]]
                        if self._self_slot >= 0 else _empty(np.uint32))
            for i, slot in enumerate(self._out_pos.tolist()):
                counts[i, j] = step_counts[slot]
                parts[i].append(keys[bounds[slot]:bounds[slot + 1]])
        recv_counts = np.zeros((self._in.size, n_steps), dtype=np.int64)
        self._graph.Neighbor_alltoall([counts, MPI.INT64_T], [recv_counts, MPI.INT64_T])
        send = np.concatenate([p for ps in parts for p in ps] or [_empty(np.uint32)])
        send = np.ascontiguousarray(send, dtype=np.uint32)
        send_counts = counts.sum(axis=1)
        per_in = recv_counts.sum(axis=1)
        recv = np.zeros(int(per_in.sum()), dtype=np.uint32)
        self._graph.Neighbor_alltoallv(
            [send, (send_counts, np.cumsum(send_counts) - send_counts), MPI.UINT32_T],
            [recv, (per_in, np.cumsum(per_in) - per_in), MPI.UINT32_T])
        # recv holds, per neighbour, its keys step by step
        ends = np.cumsum(recv_counts.ravel()).reshape(recv_counts.shape)
        starts = ends - recv_counts
        out = []
        for j in range(n_steps):
            pieces = [mine[j]] + [recv[a:b] for a, b in zip(starts[:, j].tolist(),
                                                            ends[:, j].tolist()) if b > a]
            out.append([np.concatenate(pieces) if len(pieces) > 1 else pieces[0].copy()])
        return out

    def alltoallv(self, sends):
        MPI = self._MPI
        parts = [np.ascontiguousarray(a, dtype=np.int64) for a in sends[0]]
        counts = np.array([p.size for p in parts], dtype=np.int64)
        recv_counts = np.zeros(self.n_ranks, dtype=np.int64)
        self.comm.Alltoall([counts, MPI.INT64_T], [recv_counts, MPI.INT64_T])
        send = np.concatenate(parts) if parts else _empty(np.int64)
        recv = np.zeros(int(recv_counts.sum()), dtype=np.int64)
        displ = np.cumsum(counts) - counts
        recv_displ = np.cumsum(recv_counts) - recv_counts
        self.comm.Alltoallv([send, (counts, displ), MPI.INT64_T],
                            [recv, (recv_counts, recv_displ), MPI.INT64_T])
        return [np.split(recv, np.cumsum(recv_counts)[:-1])]

    def allgatherv(self, arrays):
        MPI = self._MPI
        local = np.ascontiguousarray(arrays[0])
        dtype = local.dtype
        counts = np.zeros(self.n_ranks, dtype=np.int64)
        self.comm.Allgather([np.array([local.size], dtype=np.int64), MPI.INT64_T],
                            [counts, MPI.INT64_T])
        out = np.empty(int(counts.sum()), dtype=dtype)
        displ = np.cumsum(counts) - counts
        kind = MPI._typedict[dtype.char]
        self.comm.Allgatherv([local, kind], [out, (counts, displ), kind])
        return out

    def allreduce(self, value, op: str = "sum"):
        MPI = self._MPI
        array = np.asarray(value)
        if array.ndim == 0:
            return self.comm.allreduce(value, op={"sum": MPI.SUM, "min": MPI.MIN,
                                                  "max": MPI.MAX}[op])
        out = np.empty_like(array)
        self.comm.Allreduce(np.ascontiguousarray(array), out,
                            op={"sum": MPI.SUM, "min": MPI.MIN, "max": MPI.MAX}[op])
        return out

    def allgather(self, obj):
        return self.comm.allgather(obj)

    def barrier(self):
        self.comm.Barrier()


# -- finding MPI --------------------------------------------------------------------

#: environment variables set by MPI launchers (mpiexec, srun) in every rank
_LAUNCHER_SIZE = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS",
                  "SLURM_NTASKS")
_mpi_module = None
_mpi_problem = None


def mpi():
    """mpi4py's ``MPI`` module, or None when mpi4py or an MPI library is missing.

    mpi4py 4 raises ``RuntimeError("cannot load MPI library")`` when it is
    installed without an MPI library (``pip install spinn-snn`` without the
    ``dev`` extra, on a machine without MPI): spinn then runs in one process.
    """
    global _mpi_module, _mpi_problem
    if _mpi_module is None and _mpi_problem is None:
        try:
            from mpi4py import MPI
            _mpi_module = MPI
        except (ImportError, RuntimeError, OSError) as error:
            lines = str(error).splitlines() or [""]
            _mpi_problem = f"{type(error).__name__}: {lines[0]}"
    return _mpi_module


def _launched_size() -> int:
    """Processes the launcher started, from its environment (1 if unknown)."""
    for name in _LAUNCHER_SIZE[:-1]:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return 1


def world_size() -> int:
    """Size of MPI's world, or 1 when no MPI library can be loaded.

    Raises
    ------
    SimulationStateError
        When a launcher started several processes but this one cannot load
        MPI (each would otherwise simulate the whole network alone).
    """
    MPI = mpi()
    if MPI is None:
        launched = _launched_size()
        if launched > 1:
            raise SimulationStateError(
                f"started as one of {launched} MPI processes, but mpi4py cannot load an MPI "
                f"library ({_mpi_problem}); install one (`pip install mpich`, or load your "
                "cluster's MPI module) or run with plain `python` on one process")
        return 1
    return MPI.COMM_WORLD.Get_size()


def world_rank() -> int:
    """Rank in MPI's world, or 0 when no MPI library can be loaded."""
    MPI = mpi()
    return 0 if MPI is None else MPI.COMM_WORLD.Get_rank()


def default_exchange(n_virtual_ranks: int | None = None):
    """The exchange for this run.

    Under ``mpiexec`` with several processes: MPI, one rank per process. An
    explicit ``n_virtual_ranks`` instead makes every process simulate the
    whole network by itself on that many in-process ranks (useful to compute
    a serial reference inside an MPI job).
    """
    if n_virtual_ranks is None and world_size() > 1:
        return MPIExchange()
    return LocalExchange(n_virtual_ranks or 1)
