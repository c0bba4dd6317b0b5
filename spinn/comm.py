"""The exchange between ranks, and the only module that imports mpi4py.

An exchange hosts one or more ranks in this process and offers what the
engine needs collectively:

* :meth:`~LocalExchange.connect` — once per build: each hosted rank's
  neighbours (the ranks it sends spikes to and receives them from, known
  from the routing footprints);
* :meth:`~LocalExchange.exchange` — each hosted rank's keys, grouped by
  destination neighbour, go to exactly those ranks. Under MPI: one
  ``Neighbor_alltoallv`` of uint32 words on a distributed-graph communicator,
  a block per neighbour holding the counts and then the keys, so nothing per
  step is sized by the number of ranks; a block's capacity grows (alike at
  both ends) when keys overflow it, the overflow following point to point
  that once; keys a rank sends to itself never enter MPI.
  :meth:`~LocalExchange.exchange_batch` does the same for the steps of one
  minimum delay at once (NEST's scheme), still one collective;
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

import itertools
import os
from typing import Protocol, Sequence

import numpy as np

from .csr import ranges
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
    def node_processes(self) -> int: ...
    def broadcast(self, words) -> np.ndarray: ...


INITIAL_CAPACITY = 64          # uint32 words per neighbour and exchange, at first
_OVERFLOW_TAG = 7301


def _grown(needed: int) -> int:
    """A pair's new capacity after ``needed`` words did not fit: room for half
    as much again, rounded up to a power of two."""
    return 1 << int(needed + needed // 2).bit_length()


def _empty(dtype) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


def _kernels():
    from . import kernels
    return kernels.compiled


_FEW = 16        # neighbours up to which the numpy blocks are packed one by one


class _BlocksNumpy:
    """The exchange's blocks, packed and unpacked with numpy (the compiled
    kernels of the same names do the same in one call each).

    ``counts[j, p]``: keys of step ``j`` for out position ``p``; ``keys``: the
    steps' keys one after the other, each step's grouped by position. A block
    for a neighbour: its counts of each step, then its keys step by step, as
    many as its capacity holds."""

    @staticmethod
    def starts(counts):
        flat = counts.ravel()
        return (np.cumsum(flat) - flat).reshape(counts.shape)

    @staticmethod
    def keys_for(counts, keys, pos: int):
        """Every key for out position ``pos``, step by step."""
        return keys[ranges(_BlocksNumpy.starts(counts)[:, pos], counts[:, pos])]

    @staticmethod
    def pack_blocks(counts, keys, out_pos, cap_out, block_out, send, total):
        """Fills ``send`` and ``total`` (each neighbour's keys); returns how many
        neighbours' keys did not all fit."""
        n_steps = counts.shape[0]
        if n_steps == 1 and out_pos.size <= _FEW:          # a few slices beat vectorising
            per = counts[0].tolist()
            starts = list(itertools.accumulate(per, initial=0))
            over = 0
            for i, (p, cap, b) in enumerate(zip(out_pos.tolist(), cap_out.tolist(),
                                                block_out.tolist())):
                n = per[p]
                total[i] = n
                send[b] = n
                fit = min(n, cap - 1)
                over += fit < n
                send[b + 1:b + 1 + fit] = keys[starts[p]:starts[p] + fit]
            return over
        per = counts[:, out_pos].T                      # (neighbour, step)
        total[:] = per.sum(axis=1)
        fit = np.minimum(total, cap_out - n_steps)
        send[(block_out[:, None] + np.arange(n_steps)).ravel()] = per.ravel()
        if fit.sum():
            src = ranges(_BlocksNumpy.starts(counts)[:, out_pos].T.ravel(), per.ravel())
            within = np.arange(src.size) - np.repeat(np.cumsum(total) - total, total)
            src = src[within < np.repeat(fit, total)]
            send[ranges(block_out + n_steps, fit)] = keys[src]
        return int(np.count_nonzero(fit < total))

    @staticmethod
    def heads(recv, block_in, n_steps):
        return recv[(block_in[:, None] + np.arange(n_steps)).ravel()].astype(
            np.int64).reshape(block_in.size, n_steps)

    @staticmethod
    def unpack_blocks(recv, block_in, cap_in, counts, keys, self_slot, total):
        """``(keys, step_ptr, n_over)``; ``total``: each in-neighbour's keys;
        ``n_over``: how many of them did not all fit (keys then incomplete)."""
        n_steps = counts.shape[0]
        if n_steps == 1 and block_in.size <= _FEW:
            heads = recv[block_in].tolist()
            total[:] = heads
            parts, over = [], 0
            if self_slot >= 0:
                per = counts[0].tolist()
                a = sum(per[:self_slot])
                parts.append(keys[a:a + per[self_slot]])
            for b, h, cap in zip(block_in.tolist(), heads, cap_in.tolist()):
                over += h > cap - 1
                parts.append(recv[b + 1:b + 1 + h])
            out = np.concatenate(parts) if parts else _empty(np.uint32)
            return out, np.array([0, out.size]), over
        heads = _BlocksNumpy.heads(recv, block_in, n_steps)
        total[:] = heads.sum(axis=1)
        fit = np.minimum(total, cap_in - n_steps)
        got = recv[ranges(block_in + n_steps, fit)]
        n_over = int(np.count_nonzero(fit < total))
        if n_over:
            return got, np.zeros(n_steps + 1, dtype=np.int64), n_over
        return (*_BlocksNumpy.assemble(heads, got, counts, keys, self_slot), 0)

    @staticmethod
    def assemble(heads, got, counts, keys, self_slot):
        """Per step, the rank's own keys, then each in-neighbour's (``got``:
        neighbour by neighbour, step by step): ``(keys, step_ptr)``."""
        n_steps = counts.shape[0]
        if self_slot >= 0:
            own_counts = counts[:, self_slot]
            own = _BlocksNumpy.keys_for(counts, keys, self_slot)
        else:
            own_counts, own = np.zeros(n_steps, dtype=np.int64), _empty(np.uint32)
        got_counts = heads.sum(axis=0)
        step_ptr = np.concatenate(([0], np.cumsum(own_counts + got_counts)))
        if n_steps == 1:
            return np.concatenate((own, got)), step_ptr
        steps = np.arange(n_steps)
        label = np.concatenate((2 * np.repeat(steps, own_counts),
                                2 * np.repeat(np.tile(steps, heads.shape[0]), heads.ravel()) + 1))
        both = np.concatenate((own, got))
        return both[np.argsort(label, kind="stable")], step_ptr


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

    def broadcast(self, words):
        """Process 0's uint32 ``words`` on every process (live input)."""
        return words

    def node_processes(self) -> int:
        """Processes sharing this node's memory: 1, unless a launcher started
        several (each then simulates the whole network on its virtual ranks)."""
        return _launcher_local_size() or 1


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
        self._node_size = None

    def connect(self, out_ranks, in_ranks) -> None:
        me = self.process_rank
        out = np.asarray(out_ranks[0], dtype=np.int64)
        inn = np.asarray(in_ranks[0], dtype=np.int64)
        self._self_slot = int(np.flatnonzero(out == me)[0]) if (out == me).any() else -1
        self._out = out[out != me]
        self._in = inn[inn != me]
        self._out_pos = np.flatnonzero(out != me)
        self._n_pos = out.size
        if self._graph is not None:
            self._graph.Free()
        self._graph = self.comm.Create_dist_graph_adjacent(
            self._in.tolist(), self._out.tolist(), reorder=False)
        # words (uint32) per neighbour and exchange: the step counts, then keys;
        # both ends of a pair apply the same rule, so they always agree
        self._cap_out = np.full(self._out.size, INITIAL_CAPACITY, dtype=np.int64)
        self._cap_in = np.full(self._in.size, INITIAL_CAPACITY, dtype=np.int64)
        self.n_overflows = 0
        self._layout()
        kernels = _kernels()
        self._blocks = kernels or _BlocksNumpy
        if kernels is not None:           # load them now, not in the first step
            counts = np.zeros((1, out.size), dtype=np.int64)
            keys = np.zeros(0, dtype=np.uint32)
            send = np.zeros(self._send_words, dtype=np.uint32)
            kernels.pack_blocks(counts, keys, self._out_pos, self._cap_out, self._block_out,
                                send, self._total_out)
            kernels.unpack_blocks(np.zeros(self._recv_words, dtype=np.uint32), self._block_in,
                                  self._cap_in, counts, keys, self._self_slot, self._total_in)

    def exchange(self, sends):
        return self.exchange_batch([sends])[0]

    def _layout(self, n_steps: int = 1) -> None:
        """Blocks from the pairs' capacities (after connect, or growth); every
        block holds at least twice the steps' counts."""
        low = _grown(2 * n_steps)
        if self._cap_out.size:
            self._cap_out = np.maximum(self._cap_out, low)
        if self._cap_in.size:
            self._cap_in = np.maximum(self._cap_in, low)
        self._min_cap = min(self._cap_out.min(initial=low), self._cap_in.min(initial=low))
        self._block_out = np.cumsum(self._cap_out) - self._cap_out
        self._block_in = np.cumsum(self._cap_in) - self._cap_in
        self._send_words = int(self._cap_out.sum())
        self._recv_words = int(self._cap_in.sum())
        self._total_out = np.zeros(self._out.size, dtype=np.int64)
        self._total_in = np.zeros(self._in.size, dtype=np.int64)

    def exchange_batch(self, batch):
        """The keys of the steps of ``batch`` in one ``Neighbor_alltoallv``.

        Each neighbour gets a block of its pair's capacity: the number of keys
        of each step, then the keys (grouped by step). Keys beyond a block's
        capacity follow point to point, and both ends of the pair grow its
        capacity alike (they both know the counts), so after the first steps
        one collective carries everything."""
        MPI = self._MPI
        n_steps = len(batch)
        if self._min_cap < 2 * n_steps:
            self._layout(n_steps)
        if n_steps == 1:
            counts = np.asarray(batch[0][0][0], dtype=np.int64).reshape(1, -1)
            keys = batch[0][0][1]
        else:
            counts = np.stack([np.asarray(b[0][0], dtype=np.int64) for b in batch])
            keys = np.concatenate([b[0][1] for b in batch])
        if keys.dtype != np.uint32:
            keys = keys.astype(np.uint32)
        blocks = self._blocks
        send = np.empty(self._send_words, dtype=np.uint32)
        over = blocks.pack_blocks(counts, keys, self._out_pos, self._cap_out, self._block_out,
                                  send, self._total_out)
        recv = np.empty(self._recv_words, dtype=np.uint32)
        self._graph.Neighbor_alltoallv([send, (self._cap_out, self._block_out), MPI.UINT32_T],
                                       [recv, (self._cap_in, self._block_in), MPI.UINT32_T])
        out, step_ptr, over_in = blocks.unpack_blocks(recv, self._block_in, self._cap_in, counts,
                                                      keys, self._self_slot, self._total_in)
        if over or over_in:
            out, step_ptr = self._overflow(counts, keys, recv)
        if n_steps == 1:
            return [[out]]
        bounds = step_ptr.tolist()
        return [[out[bounds[j]:bounds[j + 1]]] for j in range(n_steps)]

    def _overflow(self, counts, keys, recv):
        """Keys beyond the blocks' capacities, point to point; capacities grow."""
        MPI = self._MPI
        n_steps = counts.shape[0]
        self.n_overflows += 1
        total_out, total_in = self._total_out, self._total_in
        block_in = self._block_in
        fit_out = np.minimum(total_out, self._cap_out - n_steps)
        fit_in = np.minimum(total_in, self._cap_in - n_steps)
        requests, extra = [], {}
        for i in np.flatnonzero(total_out > fit_out).tolist():
            mine = _BlocksNumpy.keys_for(counts, keys, int(self._out_pos[i]))
            rest = np.ascontiguousarray(mine[fit_out[i]:])
            requests.append(self._graph.Isend([rest, MPI.UINT32_T], int(self._out[i]),
                                              tag=_OVERFLOW_TAG))
            self._cap_out[i] = _grown(int(total_out[i]) + n_steps)
        for j in np.flatnonzero(total_in > fit_in).tolist():
            extra[j] = np.empty(int(total_in[j] - fit_in[j]), dtype=np.uint32)
            requests.append(self._graph.Irecv([extra[j], MPI.UINT32_T], int(self._in[j]),
                                              tag=_OVERFLOW_TAG))
            self._cap_in[j] = _grown(int(total_in[j]) + n_steps)
        MPI.Request.Waitall(requests)
        heads = _BlocksNumpy.heads(recv, block_in, n_steps)
        got = [recv[block_in[j] + n_steps:block_in[j] + n_steps + fit_in[j]]
               for j in range(block_in.size)]
        got = np.concatenate([np.concatenate((g, extra[j])) if j in extra else g
                              for j, g in enumerate(got)] or [_empty(np.uint32)])
        self._layout(n_steps)
        return _BlocksNumpy.assemble(heads, got, counts, keys, self._self_slot)

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

    _BCAST_WORDS = 64

    def broadcast(self, words):
        """Process 0's uint32 ``words`` (None elsewhere) on every process: one
        ``Bcast`` of a small fixed buffer (the length, then the words), a
        second one only for what does not fit (live input, :mod:`spinn.livewire`)."""
        MPI = self._MPI
        room = self._BCAST_WORDS - 1
        buf = np.zeros(self._BCAST_WORDS, dtype=np.uint32)
        root = self.process_rank == 0
        if root:
            words = np.ascontiguousarray(words, dtype=np.uint32)
            buf[0] = words.size
            buf[1:1 + min(words.size, room)] = words[:room]
        self.comm.Bcast([buf, MPI.UINT32_T], root=0)
        n = int(buf[0])
        if n <= room:
            return words if root else buf[1:1 + n]
        rest = np.ascontiguousarray(words[room:]) if root else np.empty(n - room, np.uint32)
        self.comm.Bcast([rest, MPI.UINT32_T], root=0)
        return words if root else np.concatenate((buf[1:], rest))

    def node_processes(self) -> int:
        """Processes of this job on this node (collective the first time: a
        split of the communicator by shared memory)."""
        if self._node_size is None:
            try:
                node = self.comm.Split_type(self._MPI.COMM_TYPE_SHARED)
                self._node_size = node.Get_size()
                node.Free()
            except (AttributeError, NotImplementedError, self._MPI.Exception):
                self._node_size = _launcher_local_size() or 1
        return self._node_size


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


#: environment variables with the number of processes on this node
_LAUNCHER_LOCAL_SIZE = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE")


def _launcher_local_size() -> int | None:
    """Processes the launcher started on this node, from its environment."""
    for name in _LAUNCHER_LOCAL_SIZE:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


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
