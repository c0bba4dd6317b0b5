"""The simulation driver: map once, build this process's ranks, step them.

Every MPI process runs the same user script (SPMD). At the first ``run()``
each process computes the same mapping (a pure function of the network
description and the number of ranks; its digest is compared across
processes), builds the ranks it hosts, and then steps them in lock-step with
the exchange between update and delivery. All collective calls happen in the
same order on every process.
"""
from __future__ import annotations

import json
import logging
import os
import time

import numpy as np

import partitioning

from .comm import default_exchange
from .electrodes import recorded_value
from .errors import NetworkError, RankError, SimulationStateError, SpinnError
from .estimates import network_graph
from .network import NetworkSpec, steps_to_ms
from .runtime import RankEngine

logger = logging.getLogger(__name__)


class Simulation:
    """One process's share of a simulation."""

    def __init__(self, spec: NetworkSpec, *, n_virtual_ranks: int | None = None,
                 exchange=None):
        self.spec = spec
        self.exchange = exchange or default_exchange(n_virtual_ranks)
        self.mapping = None
        self.engines: list[RankEngine] = []
        self.step = 0
        self.simulate_seconds = 0.0
        self.steps_run = 0
        self.map_seconds = 0.0
        self.build_seconds = 0.0
        self.current_traces: dict = {}     # source id -> recorded current per step
        self.set_serial = 0                # Projection.set calls so far (random streams)
        #: a progress bar on rank 0 (stderr) for runs longer than a few seconds
        self.show_progress = False
        #: wall time of this process per phase of the step: "update" (deliver the
        #: ring slot, neuron update, record, emit and route), "exchange" (the
        #: collectives, including waiting for the slowest rank), "deliver"
        #: (decode received keys, scatter synaptic rows into ring buffers)
        self.phase_seconds = {"update": 0.0, "exchange": 0.0, "deliver": 0.0}

    @property
    def built(self) -> bool:
        return self.mapping is not None

    # -- build -------------------------------------------------------------------
    def build(self) -> None:
        """Map the network and build the local ranks (collective)."""
        if self.built:
            return
        if not self.spec.populations:
            raise SimulationStateError("the network has no populations: nothing to simulate")
        map_only = os.environ.get("SPINN_MAP_ONLY")
        if map_only:
            self._map_only(map_only)
        t0 = time.perf_counter()
        mapping = partitioning.map_network(network_graph(self.spec), self.exchange.n_ranks)
        digests = self.exchange.allgather(mapping.digest())
        if len(set(digests)) != 1:
            raise RankError(
                "the mapping differs between MPI processes (digests "
                f"{sorted(set(digests))}); every rank must run the same script with the "
                "same arguments and seeds")
        t1 = time.perf_counter()
        engines, error = [], None
        try:
            for r in self.exchange.local_ranks:
                engines.append(RankEngine(self.spec, mapping, r))
        except SpinnError as exc:   # report it on every rank instead of hanging
            error = exc
        self._agree_on(error)
        self.mapping = mapping
        self.engines = engines
        for e in engines:
            e.configure_recording(self.step)
        self.map_seconds = t1 - t0
        self.build_seconds = time.perf_counter() - t1

    def _map_only(self, path: str) -> None:
        """``spinn map``: map for ``SPINN_MAP_RANKS`` ranks, write the report, stop."""
        n_ranks = int(os.environ.get("SPINN_MAP_RANKS", self.exchange.n_ranks))
        t0 = time.perf_counter()
        graph = network_graph(self.spec)
        t1 = time.perf_counter()
        per_node = os.environ.get("SPINN_MAP_RANKS_PER_NODE")
        per_rank = os.environ.get("SPINN_MAP_BYTES_PER_RANK")
        mapping = partitioning.map_network(
            graph, n_ranks, check=False, ranks_per_node=int(per_node) if per_node else None,
            bytes_per_rank=int(per_rank) if per_rank else None)
        t2 = time.perf_counter()
        report = mapping.report()
        report.setdefault("timing_s", {}).update(
            {"graph": t1 - t0, "map_network": t2 - t1})
        save_dir = os.environ.get("SPINN_MAP_SAVE")
        if save_dir and self.exchange.process_rank == 0:
            from .image import save_rank_images
            t3 = time.perf_counter()
            report["images"] = save_rank_images(self.spec, mapping, save_dir)
            report["timing_s"]["save_images"] = time.perf_counter() - t3
        if self.exchange.process_rank == 0:
            with open(path, "w") as f:
                json.dump(report, f, default=_json_default)
        raise SystemExit(0)

    def _agree_on(self, error):
        """Raise the same error on every process if any process failed."""
        messages = self.exchange.allgather(None if error is None else
                                           (type(error).__name__, str(error)))
        failed = [(i, m) for i, m in enumerate(messages) if m is not None]
        if not failed:
            return
        if error is not None:
            raise error
        i, (kind, text) = failed[0]
        cls = NetworkError if kind == "NetworkError" else RankError
        raise cls(f"(raised on MPI rank {i}) {text}")

    def reset(self) -> None:
        """Back to step 0: neurons to their initial values, nothing in flight.

        The mapping and the (static) synapses are kept: they are rebuilt from
        the same description, which gives the same synapses.
        """
        self.engines = [RankEngine(self.spec, self.mapping, r)
                        for r in self.exchange.local_ranks]
        self.step = 0
        self.current_traces = {}
        for e in self.engines:
            e.configure_recording(self.step)

    # -- run ---------------------------------------------------------------------
    def run_steps(self, n_steps: int) -> None:
        """Advance all local ranks by ``n_steps`` steps (collective)."""
        self.build()
        for e in self.engines:
            e.configure_recording(self.step)
            e.bind_current_sources(self.spec.current_sources)
        engines, exchange = self.engines, self.exchange
        recorded = [s for s in self.spec.current_sources if s.record]
        dt = self.spec.dt_ms
        progress = Progress(self.step, n_steps, dt) if self.show_progress else None
        clock = time.perf_counter
        phase = self.phase_seconds
        t0 = clock()
        for k in range(self.step, self.step + n_steps):
            for src in recorded:
                self.current_traces.setdefault(src.id, []).append(recorded_value(src, k, dt))
            ta = clock()
            sends = [e.advance(k) for e in engines]
            tb = clock()
            received = exchange.alltoallv(sends)
            tc = clock()
            for e, keys in zip(engines, received):
                e.receive(k, keys)
            phase["update"] += tb - ta
            phase["exchange"] += tc - tb
            phase["deliver"] += clock() - tc
            if progress is not None and k % 256 == 0:
                progress.update(k)
        self.simulate_seconds += clock() - t0
        if progress is not None:
            progress.finish(self.step + n_steps)
        self.step += n_steps
        self.steps_run += n_steps

    # -- gathering (collective) ---------------------------------------------------
    def gather_spikes(self, pop_id: int, clear: bool = False):
        """All recorded spikes of a population: ``(gids, times_ms)`` sorted by (gid, time)."""
        pop = self.spec.populations[pop_id]
        lo, hi = pop.first_gid, pop.first_gid + pop.size
        parts = []
        for e in self.engines:
            parts.append(e.spike_buffer.select(lo, hi))
            if clear:
                e.spike_buffer.drop(lo, hi)
        gids = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
        stamps = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
        everything = self.exchange.allgather((gids, stamps))
        gids = np.concatenate([g for g, _ in everything])
        stamps = np.concatenate([s for _, s in everything])
        order = np.lexsort((stamps, gids))
        return gids[order], steps_to_ms(stamps[order], self.spec.dt_ms)

    def gather_signal(self, pop_id: int, variable: str, clear=False):
        """All samples of ``variable`` in a population: ``(gids, samples)`` with
        ``gids`` sorted and ``samples`` an (n_samples, len(gids)) array."""
        cols, blocks = [], []
        for e in self.engines:
            buf = e.signal_buffers.get((pop_id, variable))
            if buf is not None:
                cols.append(buf.gids)
                blocks.append(buf.array())
                if clear:
                    buf.clear()
        everything = self.exchange.allgather((cols, blocks))
        cols = [c for c_list, _ in everything for c in c_list]
        blocks = [b for _, b_list in everything for b in b_list]
        if not cols:
            return np.zeros(0, np.int64), np.zeros((0, 0))
        n_samples = max(b.shape[0] for b in blocks)
        gids = np.concatenate(cols)
        samples = np.full((n_samples, gids.size), np.nan)
        start = 0
        for c, b in zip(cols, blocks):
            samples[:b.shape[0], start:start + c.size] = b
            start += c.size
        order = np.argsort(gids, kind="stable")
        return gids[order], samples[:, order]

    def gather_connections(self, proj_id: int):
        """All synapses of a projection: (pre, post, weight, delay_ms) sorted by (pre, post)."""
        self.build()
        local = [e.projection_connections(proj_id) for e in self.engines]
        everything = self.exchange.allgather(local)
        parts = [p for process in everything for p in process]
        pre, post, w, d = (np.concatenate(x) for x in zip(*parts))
        order = np.lexsort((post, pre))
        return pre[order], post[order], w[order], steps_to_ms(d[order], self.spec.dt_ms)

    def min_delay_steps(self) -> int:
        """Smallest synaptic delay in the whole network, in steps (collective)."""
        local = [int(e.syn_delay.min()) for e in self.engines if e.syn_delay.size]
        everything = [d for part in self.exchange.allgather(local) for d in part]
        return min(everything) if everything else 1

    def update_population(self, pop_id: int) -> None:
        """Parameters of a population changed between runs (every process)."""
        if self.built:
            for e in self.engines:
                e.update_population(pop_id, self.step)

    def set_state(self, pop_id: int, variable: str, value) -> None:
        """``initialize()`` between runs: the current value of a state variable."""
        if self.built:
            for e in self.engines:
                e.set_state(pop_id, variable, value)

    def set_synapse_values(self, proj_id: int, name: str, spec) -> None:
        """Change weights or delays of a built projection (collective)."""
        self.build()
        self.set_serial += 1
        proj = self.spec.projections[proj_id]
        error = None
        try:
            for e in self.engines:
                e.set_synapse_values(proj, name, spec, self.set_serial)
        except SpinnError as exc:
            error = exc
        self._agree_on(error)

    def count_connections(self, proj_id: int) -> int:
        self.build()
        n = sum(e.projection_synapses[proj_id][0].size for e in self.engines)
        return int(self.exchange.allreduce_sum(n))

    # -- statistics ---------------------------------------------------------------
    def statistics(self) -> dict:
        """Whole-run numbers, identical on every process (collective)."""
        spikes = sum(e.n_spikes for e in self.engines)
        synapses = sum(e.n_synapses for e in self.engines)
        spikes, synapses = self.exchange.allreduce_sum(np.array([spikes, synapses]))
        wall = max(self.exchange.allgather(self.simulate_seconds))
        neurons = sum(p.size for p in self.spec.populations if not _is_source(p))
        bio_s = self.steps_run * self.spec.dt_ms / 1000.0
        spikes_neurons = sum(e.n_spikes - _source_spikes(e) for e in self.engines)
        spikes_neurons = self.exchange.allreduce_sum(spikes_neurons)
        return {
            "ranks": self.exchange.n_ranks,
            "neurons": int(neurons),
            "sources": int(sum(p.size for p in self.spec.populations if _is_source(p))),
            "synapses": int(synapses),
            "spikes": int(spikes),
            "neuron_spikes": int(spikes_neurons),
            "mean_rate_hz": (spikes_neurons / neurons / bio_s) if neurons and bio_s else 0.0,
            "biological_s": bio_s,
            "simulate_wall_s": wall,
            "realtime_factor": wall / bio_s if bio_s else float("nan"),
            "steps": self.steps_run,
            "us_per_step": 1e6 * wall / self.steps_run if self.steps_run else float("nan"),
            "map_s": self.map_seconds,
            "build_s": self.build_seconds,
            "phase_s_by_process": self.exchange.allgather(dict(self.phase_seconds)),
        }


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _is_source(pop) -> bool:
    return pop.model.startswith("SpikeSource")


def _source_spikes(engine) -> int:
    # sources' spikes are counted separately so the mean rate is the neurons'
    return getattr(engine, "n_source_spikes", 0)


class Progress:
    """A one-line progress bar on stderr, shown once a run has taken 2 s.

    Simulated time, steps per second and the real-time factor; redrawn at
    most every 0.2 s. Used on MPI rank 0 only, and only when asked for.
    """

    def __init__(self, first_step: int, n_steps: int, dt: float, stream=None):
        import sys
        self.first, self.n, self.dt = first_step, n_steps, dt
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.last_draw = 0.0
        self.shown = False

    def update(self, k: int) -> None:
        now = time.perf_counter() - self.t0
        if now < 2.0 or now - self.last_draw < 0.2:
            return
        self.last_draw = now
        self.shown = True
        self._draw(k, now)

    def _draw(self, k: int, elapsed: float) -> None:
        done = k - self.first
        frac = done / self.n if self.n else 1.0
        bar = "#" * int(30 * frac)
        rate = done / elapsed if elapsed > 0 else 0.0
        sim_ms = done * self.dt
        rtf = elapsed / (sim_ms / 1000.0) if sim_ms else float("nan")
        self.stream.write(f"\r[{bar:<30}] {sim_ms:,.1f}/{self.n * self.dt:,.1f} ms  "
                          f"{rate:,.0f} steps/s  real-time factor {rtf:.2f}")
        self.stream.flush()

    def finish(self, k: int) -> None:
        if self.shown:
            self._draw(k, time.perf_counter() - self.t0)
            self.stream.write("\n")
            self.stream.flush()


def format_summary(stats: dict) -> str:
    """The short summary rank 0 prints after a run."""
    return (
        f"spinn: {stats['neurons']:,} neurons (+{stats['sources']:,} sources), "
        f"{stats['synapses']:,} synapses on {stats['ranks']} rank(s); "
        f"{stats['biological_s'] * 1000:g} ms simulated: {stats['spikes']:,} spikes, "
        f"mean rate {stats['mean_rate_hz']:.2f} Hz; "
        f"simulate wall time {stats['simulate_wall_s']:.3f} s "
        f"(real-time factor {stats['realtime_factor']:.2f}, "
        f"{stats['us_per_step']:.1f} µs/step); "
        f"map {stats['map_s']:.3f} s, build {stats['build_s']:.3f} s")
