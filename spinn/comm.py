"""The spike exchange, and the only module that imports mpi4py.

An exchange hosts one or more ranks in this process and offers what the
engine needs collectively:

* :meth:`alltoallv` — every step: each hosted rank's keys, grouped by
  destination rank, go to exactly those ranks (one ``Alltoall`` of counts and
  one ``Alltoallv`` of uint32 keys on a duplicated communicator);
* :meth:`allgather` — small metadata and gathered results, per *process*;
* :meth:`allreduce_sum`.

``MPIExchange`` hosts one rank per MPI process. ``LocalExchange`` hosts
several virtual ranks in one process, so tests can check rank-count
invariance without ``mpiexec``.
"""
from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np


class Exchange(Protocol):
    n_ranks: int
    local_ranks: tuple
    process_rank: int
    n_processes: int

    def alltoallv(self, sends: Sequence[tuple]) -> list: ...
    def allgather(self, obj) -> list: ...
    def allreduce_sum(self, value): ...
    def barrier(self) -> None: ...


class LocalExchange:
    """``n_ranks`` virtual ranks, all in this process."""

    def __init__(self, n_ranks: int = 1):
        if n_ranks < 1:
            raise ValueError(f"n_ranks must be >= 1, got {n_ranks}")
        self.n_ranks = n_ranks
        self.local_ranks = tuple(range(n_ranks))
        self.process_rank = 0
        self.n_processes = 1

    def alltoallv(self, sends):
        """``sends[r] = (counts, keys)`` for virtual rank r; returns the keys each
        rank receives, concatenated in source-rank order."""
        n = self.n_ranks
        if n == 1:
            return [sends[0][1]]
        pieces = [[None] * n for _ in range(n)]
        for src, (counts, keys) in enumerate(sends):
            bounds = np.concatenate(([0], np.cumsum(counts)))
            for dst in range(n):
                pieces[dst][src] = keys[bounds[dst]:bounds[dst + 1]]
        return [np.concatenate(p) for p in pieces]

    def allgather(self, obj):
        return [obj]

    def allreduce_sum(self, value):
        return value

    def barrier(self):
        pass


class MPIExchange:
    """One rank per MPI process, on a ``Dup()`` of ``COMM_WORLD``."""

    def __init__(self, comm=None):
        from mpi4py import MPI
        self._MPI = MPI
        self.comm = (comm or MPI.COMM_WORLD).Dup()
        self.n_ranks = self.comm.Get_size()
        self.process_rank = self.comm.Get_rank()
        self.n_processes = self.n_ranks
        self.local_ranks = (self.process_rank,)
        self._recv_counts = np.zeros(self.n_ranks, dtype=np.int64)
        self._recv = np.zeros(1024, dtype=np.uint32)
        self._zeros = np.zeros(self.n_ranks, dtype=np.int64)

    def alltoallv(self, sends):
        counts, keys = sends[0]
        counts = np.ascontiguousarray(counts, dtype=np.int64)
        recv_counts = self._recv_counts
        self.comm.Alltoall(counts, recv_counts)
        total = int(recv_counts.sum())
        if total > self._recv.size:
            self._recv = np.zeros(max(total, 2 * self._recv.size), dtype=np.uint32)
        send_displ = np.concatenate(([0], np.cumsum(counts)[:-1]))
        recv_displ = np.concatenate(([0], np.cumsum(recv_counts)[:-1]))
        u32 = self._MPI.UINT32_T
        self.comm.Alltoallv([np.ascontiguousarray(keys, dtype=np.uint32), (counts, send_displ), u32],
                            [self._recv, (recv_counts, recv_displ), u32])
        return [self._recv[:total].copy()]

    def allgather(self, obj):
        return self.comm.allgather(obj)

    def allreduce_sum(self, value):
        return self.comm.allreduce(value)

    def barrier(self):
        self.comm.Barrier()


def world_size() -> int:
    """Size of MPI's world, or 1 when mpi4py/MPI is unavailable."""
    try:
        from mpi4py import MPI
    except ImportError:
        return 1
    return MPI.COMM_WORLD.Get_size()


def world_rank() -> int:
    """Rank in MPI's world, or 0 when mpi4py/MPI is unavailable."""
    try:
        from mpi4py import MPI
    except ImportError:
        return 0
    return MPI.COMM_WORLD.Get_rank()


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
