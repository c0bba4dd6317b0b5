"""The simulation driver: map once, build this process's ranks, step them.

Every MPI process runs the same user script (SPMD) and hands this driver the
same frozen :class:`~spinn.network.NetworkSpec` (its digest is compared
across processes; a mismatch names the first object that differs). At the
first ``run()`` each process computes the same mapping (a pure function of
the spec and the number of ranks), builds the images of the ranks it hosts,
exchanges footprints once to build every rank's own routing table, and
starts a runtime per rank; then it steps them in lock-step with the exchange
between update and delivery. A newer spec version (``set``, ``initialize``,
``Projection.set``, ``record`` between runs) becomes newer images and is
applied to the runtimes; ``reset()`` starts new runtimes from the images.
All collective calls happen in the same order on every process.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import deque
from dataclasses import replace
from pathlib import Path

import numpy as np

import partitioning

from .build import (_build_groups, _slice_first_gids, build_rank_image, footprint_requests,
                    geometry_for, local_neurons, with_routing)
from . import memory
from .comm import default_exchange
from .electrodes import recorded_value
from .errors import NetworkError, RankError, SimulationStateError, SpinnError
from .estimates import network_graph
from .fusion import build_fused, build_replicated, fused_projections, replicated_populations
from .network import NetworkSpec, changes_between, first_difference, steps_to_ms
from .recording import ChunkFile, RankRecorder, recording_file, signal_grid
from .runtime import RankRuntime
from .state import export_runtime, import_runtime, merge, redistribute
from .synapses import apply_update, projection_synapses, short_term_values

logger = logging.getLogger(__name__)


class Simulation:
    """One process's share of a simulation."""

    def __init__(self, spec: NetworkSpec, *, n_virtual_ranks: int | None = None,
                 exchange=None, output=None):
        self.spec = spec
        self.exchange = exchange or default_exchange(n_virtual_ranks)
        #: where each rank streams what it records (:meth:`_open_output`):
        #: ``output`` as given (``setup(output=...)``), else ``SPINN_OUTPUT``,
        #: else ``spinn_output/<script>/<timestamp>`` (under ``SPINN_OUTPUT_ROOT``)
        self.output = output
        self.output_dir = None
        self.segment = 0                # a reset() starts a new one
        self.segment_steps: dict = {}   # segment -> the step it reached
        self.extra_metadata: dict = {}  # what the PyNN layer adds to run.json (units)
        self.live_outputs: list = []    # (population id, host, port): spinn.live
        #: clients to hand-shake with before each run: (host, port, what registered it)
        self.live_notify: list = []
        #: seconds to wait for them (None: SPINN_LIVE_TIMEOUT, else 30)
        self.live_timeout = None
        self.live_input = None          # spinn.livewire.LiveInput, once needed
        self.mapping = None
        self.images: list = []
        self.runtimes: list[RankRuntime] = []
        self.step = 0
        self.simulate_seconds = 0.0
        self.steps_run = 0
        self.map_seconds = 0.0
        self.build_seconds = 0.0
        self.current_traces: dict = {}     # source id -> recorded current per step
        #: run progress on rank 0 (stderr) for runs longer than a few seconds:
        #: False, True (a bar on a terminal, lines elsewhere), "bar" or "lines"
        self.show_progress = False
        #: real time (``setup(real_time=True)``, ``spinn run --real-time``): step k
        #: starts no earlier than t0 + k dt; late steps are counted, not hidden
        self.real_time = False
        self.pacing = Pacing()
        #: wall time of this process per phase of the step: "update" (deliver the
        #: ring slot, neuron update, record, emit and route), "exchange" (the
        #: collectives, including waiting for the slowest rank), "deliver"
        #: (decode received keys, scatter synaptic rows into ring buffers)
        self.phase_seconds = {"update": 0.0, "exchange": 0.0, "deliver": 0.0}
        self.busy_seconds = {}          # hosted rank -> its update + deliver seconds
        #: per projection: synapses in the whole network; and the smallest
        #: delay (steps) -- computed collectively at build and after changes,
        #: read without collectives
        self.synapse_counts = np.zeros(0, dtype=np.int64)
        self.min_delay = 1
        #: steps between exchanges: the minimum delay, or 1 with plasticity
        #: (its pre events must be seen in step order with the post events)
        self.exchange_interval = 1

    @property
    def built(self) -> bool:
        return self.mapping is not None

    # -- build -------------------------------------------------------------------
    def _check_spec(self, spec: NetworkSpec) -> None:
        """Every process holds the same description (collective)."""
        digests = self.exchange.allgather(spec.digest)
        if len(set(digests)) == 1:
            return
        everything = self.exchange.allgather(spec.object_digests())
        mine = spec.object_digests()
        for rank, theirs in enumerate(everything):
            where = first_difference(mine, theirs)
            if where is not None:
                raise RankError(
                    f"the network description differs between MPI processes {self.exchange.process_rank} "
                    f"and {rank}: first at {where}. Every process must run the same script "
                    "with the same arguments and data (values drawn with numpy's or Python's "
                    "own unseeded generators in the script differ between processes; use "
                    "RandomDistribution, or seed them)")
        raise RankError("the network description differs between MPI processes")

    def build(self) -> None:
        """Map the network and build the local ranks (collective)."""
        if self.built:
            return
        spec = self.spec
        if not spec.populations:
            raise SimulationStateError("the network has no populations: nothing to simulate")
        map_only = os.environ.get("SPINN_MAP_ONLY")
        if map_only:
            self._map_only(map_only)
        self._check_spec(spec)
        t0 = time.perf_counter()
        graph = network_graph(spec)
        budgets = memory.check_network(self, graph)   # refuse before allocating (collective)
        mapping = partitioning.map_network(graph, self.exchange.n_ranks, tables=False)
        memory.check_ranks(self, graph, mapping, budgets)
        t1 = time.perf_counter()
        images, error = [], None
        try:
            replicated = replicated_populations(spec)        # decided once, here
            images = [build_rank_image(spec, mapping, r, replicated)
                      for r in self.exchange.local_ranks]
        except SpinnError as exc:   # report it on every rank instead of hanging
            error = exc
        self._agree_on(error)
        received = self.exchange.alltoallv([footprint_requests(i, mapping) for i in images])
        images = [with_routing(image, mapping, asked) for image, asked in zip(images, received)]
        self.exchange.connect([i.routing.out_ranks for i in images],
                              [i.routing.in_ranks for i in images])
        self.mapping = mapping
        self.images = images
        self._start_runtimes()
        self._count_synapses()
        self.map_seconds = t1 - t0
        self.build_seconds = time.perf_counter() - t1

    def _start_runtimes(self) -> None:
        self._open_output()
        self.runtimes = [RankRuntime(image, self.step) for image in self.images]
        for rt in self.runtimes:
            rt.recorder.sink = ChunkFile(self.output_dir / recording_file(self.segment, rt.rank))
            rt.configure_recording(self.spec.populations, self.step)

    def _bind_live_outputs(self) -> None:
        """Senders for ``spinn.live.activate_live_output_for`` on every rank that
        holds neurons of the population (each rank sends its own spikes)."""
        from .livewire import LiveOutput
        for rt in self.runtimes:
            have = {(o.label, o.address) for o in rt.live}
            for pop_id, host, port in self.live_outputs:
                pop = self.spec.populations[pop_id]
                if (pop.label, (host, int(port))) in have:
                    continue
                lo, hi = pop.first_gid, pop.first_gid + pop.size
                if rt.neurons.any_in(lo, hi):
                    rt.live.append(LiveOutput(pop.label, pop.first_gid, lo, hi, host, port))

    def _open_live_input(self):
        """The live port (:class:`~spinn.livewire.LiveInput`, MPI rank 0 owns its
        socket) when the network has ``SpikeInjector`` populations or clients
        to hand-shake with; else None (and no cost per step). Collective when
        it is opened (a port that cannot be bound fails on every rank)."""
        from .livewire import LiveInput
        injectors, ports, notify = {}, [], list(self.live_notify)
        for p in self.spec.populations:
            if p.model != "SpikeInjector":
                continue
            if p.label in injectors:
                raise NetworkError(f"two SpikeInjector populations are labelled {p.label!r}: "
                                   "live input names them by label, give them different ones")
            injectors[p.label] = (p.id, p.first_gid, p.size)
            port = _setting(p, "port")
            if port:
                ports.append(port)
            notify_port = _setting(p, "database_notify_port_num")
            if notify_port:
                host = socket_host(_setting(p, "database_notify_host"))
                notify.append((host, notify_port, f"SpikeInjector '{p.label}' "
                                                  "database_notify_port_num"))
        if not injectors and not notify:
            return None
        live, error = self.live_input, None
        owner = self.exchange.process_rank == 0
        try:
            if live is not None:            # later runs: what was added since
                live.set_injectors(injectors, notify, ports)
            else:
                live = LiveInput(injectors, ports, notify, self.spec.dt_ms, owner,
                                 log_path=(self.output_dir / "injections.msgpack" if owner
                                           else None),
                                 host=os.environ.get("SPINN_LIVE_HOST", "127.0.0.1"))
        except OSError as exc:
            error = SimulationStateError(str(exc))
        self._agree_on(error)
        self.live_input = live
        return live

    def _live_handshake(self, live) -> None:
        """Wait until the registered clients are ready, then tell them to start
        (rank 0; every rank fails alike when they do not answer)."""
        from .livewire import LiveTimeoutError
        timeout = self.live_timeout
        if timeout is None:
            timeout = float(os.environ.get("SPINN_LIVE_TIMEOUT", "30"))
        error = None
        if live.owner:
            try:
                live.handshake(float(steps_to_ms(self.step, self.spec.dt_ms)), timeout)
            except LiveTimeoutError as exc:
                error = SimulationStateError(str(exc))
        self._agree_on(error)

    def _inject(self, live, k: int) -> None:
        """What arrived on the live port enters at step ``k`` on every rank that
        holds the injected neurons (rank 0 reads it; one small broadcast)."""
        words = live.take(k, self.segment) if live.owner else None
        if self.exchange.n_processes > 1:
            words = self.exchange.broadcast(words)
        if words.size == 0:
            return
        words = words.astype(np.int64)
        i = 0
        while i < words.size:
            pid, n = int(words[i]), int(words[i + 1])
            gids = self.spec.populations[pid].first_gid + words[i + 2:i + 2 + n]
            i += 2 + n
            for rt in self.runtimes:
                rt.inject(k, pid, gids)

    # -- output ------------------------------------------------------------------
    def output_location(self) -> Path:
        """Where the recordings go (or will go: the directory may not exist yet)."""
        if self.output_dir is not None:
            return self.output_dir
        given = self.output or os.environ.get("SPINN_OUTPUT")
        return Path(given) if given else Path(os.environ.get("SPINN_OUTPUT_ROOT",
                                                             "spinn_output"))

    def _open_output(self) -> None:
        """Choose and create the output directory (collective, once)."""
        if self.output_dir is not None:
            return
        given = self.output or os.environ.get("SPINN_OUTPUT")
        if given:
            path = Path(given)
        else:
            root = Path(os.environ.get("SPINN_OUTPUT_ROOT", "spinn_output"))
            script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] not in ("", "-c") \
                else "interactive"
            path = None
            if self.exchange.process_rank == 0:
                base = root / (script or "interactive") / time.strftime("%Y%m%d-%H%M%S")
                path, n = base, 1
                while True:                 # a new directory for every simulation
                    try:
                        path.mkdir(parents=True)
                        break
                    except FileExistsError:
                        n += 1
                        path = base.with_name(f"{base.name}-{n}")
            path = Path(self.exchange.allgather(None if path is None else str(path))[0])
        path.mkdir(parents=True, exist_ok=True)
        for rank in self.exchange.local_ranks:      # a directory given again: start afresh
            for old in path.glob(f"segment*-rank{rank:05d}.msgpack"):
                old.unlink()
        self.output_dir = path

    def _flush_recording(self, only_large: bool = False) -> None:
        """Write what the ranks recorded to their files (no collective)."""
        for rt in self.runtimes:
            rec = rt.recorder
            if not only_large or rec.pending() > rec.CHUNK_VALUES:
                rec.flush()
        if not only_large:
            self.write_metadata()

    def write_metadata(self) -> None:
        """``run.json`` in the output directory (MPI rank 0): what
        :func:`spinn.io.read` needs to read the recordings without the script."""
        if self.output_dir is None or self.exchange.process_rank != 0:
            return
        spec = self.spec
        pops = []
        for p in spec.populations:
            record = {}
            for variable, r in p.record.items():
                record[variable] = {"interval": int(r.interval), "runs": r.runs.tolist()}
            pops.append({"id": p.id, "label": p.label, "size": p.size, "model": p.model,
                         "first_gid": p.first_gid, "record": record})
        self.segment_steps[self.segment] = self.step
        meta = {"format": "spinn-output", "version": 1, "dt_ms": spec.dt_ms, "step": self.step,
                "segment_steps": {str(k): v for k, v in self.segment_steps.items()},
                "t_ms": float(steps_to_ms(self.step, spec.dt_ms)), "segment": self.segment,
                "n_ranks": self.exchange.n_ranks, "populations": pops, **self.extra_metadata}
        tmp = self.output_dir / "run.json.tmp"
        tmp.write_text(json.dumps(meta, indent=1, default=_json_default))
        tmp.replace(self.output_dir / "run.json")

    def close(self) -> None:
        """Write what is left and close the recording files."""
        if self.runtimes:
            self._flush_recording()
        for rt in self.runtimes:
            if rt.recorder.sink is not None:
                rt.recorder.sink.close()
            for out in rt.live:
                out.close()
            rt.live = []
        if self.live_input is not None:
            self.live_input.close()

    def _count_synapses(self) -> None:
        """Synapses per projection and the smallest delay, network-wide (collective)."""
        n_proj = len(self.spec.projections)
        counts = np.zeros(n_proj, dtype=np.int64)
        smallest = np.iinfo(np.int64).max
        for image in self.images:
            syn = image.synapses
            for part in syn.parts:
                counts[part.id] += part.n_synapses
            if syn.n_synapses:      # offset = delay * stride + (less than stride)
                smallest = min(smallest, int(syn.offset.min()) // max(syn.stride, 1))
            for fused in image.fused:
                counts[fused.projection] += fused.index.size
                if fused.delay.size:
                    smallest = min(smallest, int(fused.delay.min()))
        self.synapse_counts = self.exchange.allreduce(counts, "sum")
        smallest = int(self.exchange.allreduce(np.array([smallest]), "min")[0])
        self.min_delay = smallest if smallest != np.iinfo(np.int64).max else 1
        plastic = any(p.plasticity is not None for p in self.spec.projections)
        self.exchange_interval = 1 if plastic else self.min_delay

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

    # -- changes between runs ------------------------------------------------------------
    def update(self, spec: NetworkSpec, *, defer_growth: bool = False) -> None:
        """Use a newer version of the description (collective once built).

        ``defer_growth``: if ``spec`` adds populations or projections, do
        nothing yet (the network is built again at the next ``run()`` or
        query, once, with whatever was added and changed until then)."""
        if spec is self.spec:
            return
        if not self.built:
            self.spec = spec
            return
        changes = changes_between(self.spec, spec)
        if changes.grown:
            if not defer_growth:
                self._check_spec(spec)
                self._grow(spec, changes)
            return
        self._check_spec(spec)
        images, error = self.images, None
        try:
            if changes.touches_images():
                images = [self._updated_image(image, spec, changes) for image in self.images]
        except SpinnError as exc:
            error = exc
        self._agree_on(error)
        self.spec = spec
        self.images = images
        for rt, image in zip(self.runtimes, images):
            rt.apply(image, changes, spec.populations, self.step)
        if changes.updated:
            self._count_synapses()

    def _grow(self, spec: NetworkSpec, changes) -> None:
        """Populations or projections were added: map and build the whole
        network again, then carry every neuron's and synapse's state, the
        input in flight and the recorded data over (:mod:`spinn.state`),
        except what ``initialize()`` / ``Projection.set`` gave new values."""
        self._flush_recording()         # recorded data stay in the files
        tables = [export_runtime(rt, self.step, recording=False) for rt in self.runtimes]
        for rt in self.runtimes:
            rt.recorder.sink.close()
        keep = {(pid, variable) for pid, names in changes.initial.items() for variable in names}
        keep |= {("proj", pid) for pid, attribute in changes.updated if attribute == "weight"}
        self.spec = spec
        self.mapping, self.images, self.runtimes = None, [], []
        self.build()
        self._import_state(tables, strict=False, keep=frozenset(keep))

    def owner_of(self, name: str, columns: dict) -> np.ndarray:
        """The rank that holds each row of a state table under the current
        mapping: that of its neuron (a synapse's: its target's; a fused
        source's: its target's)."""
        spec, mapping = self.spec, self.mapping
        gid = np.asarray(columns["post"] if "post" in columns else columns["gid"], np.int64)
        first = _slice_first_gids(spec, mapping)
        if name.startswith("cell/"):
            for pop_id, proj_id in fused_projections(spec).items():
                pop = spec.populations[pop_id]
                mine = (gid >= pop.first_gid) & (gid < pop.first_gid + pop.size)
                if mine.any():      # one to one: source i feeds post[i]
                    post = spec.projections[proj_id].post
                    gid = gid.copy()
                    gid[mine] = np.asarray(post[gid[mine] - pop.first_gid], dtype=np.int64)
        slice_of = np.searchsorted(first, gid, side="right") - 1
        return mapping.placement.rank[slice_of]

    def export_state(self) -> list:
        """Every hosted rank's dynamic state in model coordinates (:mod:`spinn.state`)."""
        self.build()
        return [export_runtime(rt, self.step) for rt in self.runtimes]

    def _import_state(self, tables: list, *, strict: bool, keep=frozenset()) -> None:
        """Tables held by this process's ranks (any rows): moved to their
        owners and written into the runtimes (collective)."""
        moved = self.exchange_tables(tables)
        error = None
        try:
            for rt, mine in zip(self.runtimes, moved):
                import_runtime(rt, mine, self.step, keep=keep, strict=strict)
        except SpinnError as exc:
            error = exc
        self._agree_on(error)

    def exchange_tables(self, tables: list) -> list:
        """Move state tables to their owners (collective): a process may hold
        rows of any rank (read from files, or from before a new mapping)."""
        n_local = len(self.exchange.local_ranks)
        tables = list(tables)
        if len(tables) != n_local:      # whatever this process read, on its first rank
            tables = [merge(tables)] + [{} for _ in range(n_local - 1)]
        return redistribute(self.exchange, tables, self.owner_of)

    def _updated_image(self, image, spec: NetworkSpec, changes):
        if changes.params or changes.spike_times or changes.initial:
            groups = _build_groups(spec, self.mapping, image.local_slices)[0]
            image = replace(image, groups=groups)
        fused = fused_projections(spec)
        if image.fused and (set(fused) & (changes.params | changes.spike_times)
                            or set(fused.values()) & set(changes.new_updates)):
            neurons = local_neurons(spec, self.mapping, image.local_slices, image.local_gids)
            image = replace(image, fused=build_fused(spec, neurons, geometry_for(spec)))
        replicated = set(image.replicated_populations)
        if replicated & (changes.params | changes.spike_times):
            image = replace(image, replicated=build_replicated(
                spec, image.synapses.source_gid, replicated))
        if set(changes.new_updates) - set(fused.values()):
            syn = image.synapses
            geometry_of = geometry_for(spec)
            for pid, updates in changes.new_updates.items():
                proj = spec.projections[pid]
                for update in updates:
                    syn = apply_update(syn, proj, update, geometry_of(proj), spec.dt_ms,
                                       image.local_gids)
            image = replace(image, synapses=syn)
        return replace(image, version=spec.version)

    def reset(self) -> None:
        """Back to step 0: neurons to their initial values, synapses to theirs
        (``Projection.set`` included), nothing in flight; nothing is regenerated."""
        self.step = 0
        self.current_traces = {}
        if self.built:
            for rt in self.runtimes:
                if rt.recorder.sink is not None:
                    rt.recorder.sink.close()
            self.segment += 1
            self._start_runtimes()

    # -- run ---------------------------------------------------------------------
    def run_steps(self, n_steps: int) -> None:
        """Advance all local ranks by ``n_steps`` steps (collective)."""
        self.build()
        runtimes, exchange = self.runtimes, self.exchange
        for rt in runtimes:
            rt.bind_current_sources(self.spec.current_sources)
        self._bind_live_outputs()
        live = self._open_live_input()
        if live is not None and live.notify:
            self._live_handshake(live)
        inject_every = self.exchange_interval if live is not None and live.injectors else 0
        recorded = [s for s in self.spec.current_sources if s.record]
        dt = self.spec.dt_ms
        progress = (Progress(self.step, n_steps, dt, style=self.show_progress
                                 if self.show_progress in ("bar", "lines") else None)
                    if self.show_progress else None)
        clock = time.perf_counter
        phase = self.phase_seconds
        interval = self.exchange_interval
        end = self.step + n_steps
        batch = []
        busy = [0.0] * len(runtimes)
        t0 = clock()
        reached = self.step         # the first step not completed
        first_step = self.step
        previous = _on_sigterm_interrupt()
        pace = None
        if self.real_time:      # every rank's clock starts together: none waits for another
            exchange.barrier()  # to be ready at every step (its steps would all start late)
            pace = self.pacing.start(self.step, dt)
        # look at what waits to be written often enough that a rank never holds
        # much more than CHUNK_VALUES values (memory.RECORDING_BUFFER_BYTES)
        per_step = max((rt.recorder.values_per_step() for rt in runtimes), default=0.0)
        flush_every = int(max(1, min(1024, RankRecorder.CHUNK_VALUES // max(per_step, 1.0))))
        # keys exchanged in a batch are delivered one step's worth per step, each
        # just before the first step it can reach (s + min delay): the same calls
        # in the same order as all at once, but no step pays for the whole batch
        pending = deque()       # (step s, what each local rank received for s)

        def deliver(s: int, received_by_rank) -> None:
            t = clock()
            for i, rt in enumerate(runtimes):
                rt.receive(s, received_by_rank[i])
                tt = clock()
                busy[i] += tt - t
                t = tt

        try:
            for k in range(self.step, end):
                reached = k
                if pace is not None:
                    pace(k)
                while pending and pending[0][0] + interval <= k:
                    td = clock()
                    deliver(*pending.popleft())
                    phase["deliver"] += clock() - td
                if inject_every and (k - first_step) % inject_every == 0:
                    ti = clock()
                    self._inject(live, k)
                    phase["exchange"] += clock() - ti
                for src in recorded:
                    self.current_traces.setdefault(src.id, []).append(recorded_value(src, k, dt))
                ta = clock()
                if len(runtimes) == 1:
                    batch.append([runtimes[0].advance(k)])
                    tb = clock()
                    busy[0] += tb - ta
                else:
                    sends, tb = [], ta
                    for i, rt in enumerate(runtimes):
                        sends.append(rt.advance(k))
                        t = clock()
                        busy[i] += t - tb
                        tb = t
                    batch.append(sends)
                phase["update"] += tb - ta
                # spikes of step k are due at k + min delay at the earliest: exchange
                # once per minimum delay (and at the end of the run)
                if len(batch) == interval or k == end - 1:
                    received = (exchange.exchange_batch(batch) if len(batch) > 1
                                else [exchange.exchange(batch[0])])
                    tc = clock()
                    first = k + 1 - len(batch)
                    pending.extend((first + j, keys) for j, keys in enumerate(received))
                    if interval == 1 or k == end - 1:       # due now, or the run ends
                        while pending:
                            deliver(*pending.popleft())
                    phase["exchange"] += tc - tb
                    phase["deliver"] += clock() - tc
                    batch = []
                if progress is not None:
                    progress.update(k)
                if (k + 1) % flush_every == 0:
                    self._flush_recording(only_large=True)
            reached = end
        finally:            # also when interrupted: what was recorded is written
            _restore_sigterm(previous)
            self.simulate_seconds += clock() - t0
            for rt, seconds in zip(runtimes, busy):
                self.busy_seconds[rt.rank] = self.busy_seconds.get(rt.rank, 0.0) + seconds
            if progress is not None:
                progress.finish(reached)
            self.steps_run += reached - self.step
            self.step = reached
            self._flush_recording()
            if live is not None and live.owner:
                live.flush()
                live.pause(float(steps_to_ms(reached, dt)))

    # -- gathering (collective; typed buffers) --------------------------------------------
    def gather_spikes(self, pop_id: int, gids: np.ndarray | None = None):
        """Recorded spikes of a population (of ``gids`` only, sorted, if given):
        ``(gids, times_ms)`` sorted by (gid, time), on every process."""
        pop = self.spec.populations[pop_id]
        lo, hi = pop.first_gid, pop.first_gid + pop.size
        parts = [rt.recorder.select_spikes(lo, hi, gids) for rt in self.runtimes]
        cat = self.exchange.allgatherv
        ids = cat([p[0] for p in parts] or [np.zeros(0, np.int64)])
        stamps = cat([p[1] for p in parts] or [np.zeros(0, np.int64)])
        order = np.lexsort((stamps, ids))
        return ids[order], steps_to_ms(stamps[order], self.spec.dt_ms)

    def gather_signal(self, pop_id: int, variable: str, gids: np.ndarray, first: int,
                      interval: int) -> np.ndarray:
        """Samples of ``variable`` of the sorted ``gids``, on the stamps
        ``first, first + interval, ...`` up to now: an (n_samples, len(gids))
        array with NaN where a cell was not recorded, on every process."""
        parts = [rt.recorder.signal_triples(pop_id, variable, gids) for rt in self.runtimes]
        cat = self.exchange.allgatherv
        ids = cat([p[0] for p in parts])
        stamps = cat([p[1] for p in parts])
        values = cat([p[2] for p in parts])
        return signal_grid(ids, stamps, values, np.asarray(gids, dtype=np.int64), first,
                           self.step, interval)

    def clear_recording(self, pop_id: int) -> None:
        """``get_data(clear=True)``: forget what a population recorded so far."""
        pop = self.spec.populations[pop_id]
        for rt in self.runtimes:
            rt.recorder.clear(pop_id, pop.first_gid, pop.first_gid + pop.size, self.step)

    def gather_connections(self, proj_id: int, extra: tuple = ()):
        """All synapses of a projection: (pre, post, weight, delay_ms) sorted by
        (pre, post), generation order for repeated pairs, on every process;
        then one array per short-term parameter named in ``extra``."""
        self.build()
        proj = self.spec.projections[proj_id]
        parts = []                 # one (pre, post, weight, delay, *extra) per hosted rank
        for rt in self.runtimes:
            image = rt.image.synapses
            syn, pre, post = projection_synapses(image, proj, rt.image.local_gids)
            mine = [(pre, post, rt.weights_of(proj_id, syn), image.delays(syn))
                    + tuple(short_term_values(image, proj_id, syn, name) for name in extra)]
            mine += [(f.index, f.index, np.asarray(f.weight), np.asarray(f.delay))
                     for f in rt.image.fused if f.projection == proj_id]
            parts.append(tuple(np.concatenate(x) for x in zip(*mine)))
        cat = self.exchange.allgatherv
        pre, post, w, d, *values = (cat(list(x)) for x in zip(*parts))
        order = np.lexsort((post, pre))
        return (pre[order], post[order], w[order], steps_to_ms(d[order], self.spec.dt_ms),
                *(v[order] for v in values))

    def min_delay_steps(self) -> int:
        """Smallest synaptic delay in the whole network, in steps (from the build)."""
        return self.min_delay

    def count_connections(self, proj_id: int) -> int:
        """Synapses of a projection in the whole network (from the build)."""
        self.build()
        return int(self.synapse_counts[proj_id])

    # -- provenance ---------------------------------------------------------------
    def provenance(self) -> dict:
        """Per rank and per run: what happened and where the time went, with
        advice (collective; identical on every process)."""
        import resource
        stats = self.statistics()
        local = []
        phase = dict(self.phase_seconds)
        pacing = self.pacing.report() if self.real_time else None
        for rt in self.runtimes:
            out_ranks = np.asarray(rt.out_ranks).tolist()
            local.append({
                "rank": rt.rank, "neurons": int(rt.n_local),
                "synapses": int(rt.image.synapses.n_synapses),
                "busy_s": self.busy_seconds.get(rt.rank, 0.0),
                "route_s": rt.route_seconds, "record_s": rt.record_seconds,
                "spikes": int(rt.n_spikes - rt.n_source_spikes),
                "source_events": int(rt.n_source_spikes),
                "keys_sent": {int(r): int(n) for r, n in zip(out_ranks, rt.keys_sent.tolist())
                              if n},
                "keys_received": int(rt.n_keys_received), "keys_used": int(rt.n_keys_used),
                "synaptic_events": int(rt.n_events), "max_input": float(rt.max_input),
                "process": self.exchange.process_rank, "real_time": pacing,
            })
        live = self.live_input
        processes = self.exchange.allgather({
            "process": self.exchange.process_rank, "phase_s": phase,
            "live_input": live.report() if live is not None and live.owner else None,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "ranks": local})
        ranks = sorted((r for p in processes for r in p["ranks"]), key=lambda r: r["rank"])
        busy = np.array([r["busy_s"] for r in ranks])
        mean = float(busy.mean()) if busy.size else 0.0
        slowest = int(np.argmax(busy)) if busy.size else 0
        proc = next(p for p in processes if p["process"] == ranks[slowest]["process"])
        route, record = ranks[slowest]["route_s"], ranks[slowest]["record_s"]
        phases = {"update": max(0.0, proc["phase_s"]["update"] - route - record),
                  "route": route, "record": record,
                  "exchange": proc["phase_s"]["exchange"], "deliver": proc["phase_s"]["deliver"]}
        total = sum(phases.values()) or 1.0
        prov = {
            "format": "spinn-provenance", "version": 1,
            "ranks": stats["ranks"], "steps": stats["steps"],
            "biological_s": stats["biological_s"], "simulate_wall_s": stats["simulate_wall_s"],
            "steps_per_s": (stats["steps"] / stats["simulate_wall_s"]
                            if stats["simulate_wall_s"] else 0.0),
            "realtime_factor": stats["realtime_factor"],
            "neuron_spikes": stats["neuron_spikes"],
            "source_events": stats["spikes"] - stats["neuron_spikes"],
            "synaptic_events": int(sum(r["synaptic_events"] for r in ranks)),
            "max_input": max((r["max_input"] for r in ranks), default=0.0),
            "imbalance": float(busy.max() / mean) if mean > 0 else 1.0,
            "slowest_rank": slowest, "slowest_phases_s": phases,
            "phase_share": {k: v / total for k, v in phases.items()},
            "dominant_phase": max(phases, key=phases.get),
            "exchange_interval": self.exchange_interval,
            "map_s": stats["map_s"], "build_s": stats["build_s"],
            "peak_rss_mib_by_process": [p["peak_rss_mib"] for p in processes],
            "by_rank": ranks,
            "output": None if self.output_dir is None else str(self.output_dir),
        }
        if self.real_time:
            paced = [r["real_time"] for r in ranks]
            prov["real_time"] = {
                "late_steps_by_rank": [p["late_steps"] for p in paced],
                "worst_lateness_ms_by_rank": [p["worst_lateness_ms"] for p in paced],
                "on_time_fraction_by_rank": [p["on_time_fraction"] for p in paced],
                "on_time_fraction": min(p["on_time_fraction"] for p in paced)}
        live_reports = [p["live_input"] for p in processes if p.get("live_input")]
        if live_reports:
            prov["live_input"] = live_reports[0]
        prov["advice"] = advice(prov)
        return prov

    def write_provenance(self, prov: dict) -> None:
        """``provenance.json`` in the output directory (MPI rank 0)."""
        if self.output_dir is not None and self.exchange.process_rank == 0:
            with open(self.output_dir / "provenance.json", "w") as f:
                json.dump(prov, f, indent=1, default=_json_default)

    # -- statistics ---------------------------------------------------------------
    def statistics(self) -> dict:
        """Whole-run numbers, identical on every process (collective)."""
        rts = self.runtimes
        local = np.array([
            sum(rt.n_spikes for rt in rts),
            sum(rt.image.synapses.n_synapses + sum(f.index.size for f in rt.image.fused)
                for rt in rts),
            sum(rt.n_source_spikes for rt in rts),
            sum(rt.n_keys_received for rt in rts),
            sum(rt.n_keys_used for rt in rts),
            getattr(self.exchange, "n_overflows", 0),
        ], dtype=np.int64)
        spikes, synapses, source_spikes, keys, used, overflows = self.exchange.allreduce(
            local, "sum")
        wall = max(self.exchange.allgather(self.simulate_seconds))
        neurons = sum(p.size for p in self.spec.populations if not _is_source(p))
        bio_s = self.steps_run * self.spec.dt_ms / 1000.0
        spikes_neurons = spikes - source_spikes
        return {
            "ranks": self.exchange.n_ranks,
            "neurons": int(neurons),
            "sources": int(sum(p.size for p in self.spec.populations if _is_source(p))),
            "synapses": int(synapses),
            "spikes": int(spikes),
            "neuron_spikes": int(spikes_neurons),
            "mean_rate_hz": (spikes_neurons / neurons / bio_s) if neurons and bio_s else 0.0,
            "keys_received": int(keys),
            "keys_used": int(used),
            "exchange_overflows": int(overflows),
            "biological_s": bio_s,
            "simulate_wall_s": wall,
            "realtime_factor": wall / bio_s if bio_s else float("nan"),
            "steps": self.steps_run,
            "us_per_step": 1e6 * wall / self.steps_run if self.steps_run else float("nan"),
            "map_s": self.map_seconds,
            "build_s": self.build_seconds,
            "phase_s_by_process": self.exchange.allgather(dict(self.phase_seconds)),
            "busy_s_by_rank": _by_rank(self.exchange.allgather(self.busy_seconds),
                                       self.exchange.n_ranks),
        }


class Pacing:
    """Real-time pacing of the step loop, and an honest count of late steps.

    Step ``k`` of a run that began at step ``k0`` starts no earlier than
    ``t0 + (k - k0) dt`` (wall clock; ``t0`` when the run began): the loop
    sleeps (and spins for the last half millisecond) until then. A step that
    starts more than half a step after its time is *late*; the count, the
    worst lateness and the fraction of steps on time are kept over all runs.
    """

    SPIN_S = 0.0005

    def __init__(self):
        self.steps = 0
        self.late = 0
        self.worst_s = 0.0
        self.log = None             # a list to append (step, start - scheduled) to (tests)

    def start(self, first_step: int, dt_ms: float):
        clock = time.perf_counter
        t0 = clock()
        dt = dt_ms / 1000.0
        tolerance = 0.5 * dt

        def pace(k: int) -> None:
            due = t0 + (k - first_step) * dt
            now = clock()
            if now < due:
                if due - now > self.SPIN_S:
                    time.sleep(due - now - self.SPIN_S)
                while clock() < due:
                    pass
                now = clock()
            lateness = now - due
            self.steps += 1
            if lateness > tolerance:
                self.late += 1
                if lateness > self.worst_s:
                    self.worst_s = lateness
            if self.log is not None:
                self.log.append((k, lateness))
        return pace

    def report(self) -> dict:
        return {"steps": self.steps, "late_steps": self.late,
                "worst_lateness_ms": 1000.0 * self.worst_s,
                "on_time_fraction": (1.0 - self.late / self.steps) if self.steps else 1.0}


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's time limit, ``scancel``) during a run: raised in
    the step loop like Ctrl-C, so that every rank writes what it recorded."""


def _on_sigterm_interrupt():
    """While a run steps: SIGTERM raises :class:`Terminated` (main thread only)."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise Terminated(f"signal {signum}")
    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):
        return None


def _restore_sigterm(previous) -> None:
    if previous is not None:
        import signal
        signal.signal(signal.SIGTERM, previous)


def advice(prov: dict) -> list:
    """What to change, when one phase dominates or the ranks are unbalanced."""
    out = []
    share = prov["phase_share"]
    slowest = prov["slowest_rank"]
    rt = prov.get("real_time")
    if rt and rt["on_time_fraction"] < 0.99:
        phase = prov["dominant_phase"]
        out.append(f"{100 * (1 - rt['on_time_fraction']):.1f} % of steps were late for real "
                   f"time (worst {max(rt['worst_lateness_ms_by_rank']):.2f} ms late), mostly "
                   f"{phase} ({100 * share[phase]:.0f} % of step time): a smaller network, more "
                   "ranks, or a longer timestep")
    if share.get("exchange", 0.0) > 0.4 and prov["ranks"] > 1:
        out.append(f"exchange is {100 * share['exchange']:.0f} % of step time: use fewer "
                   "ranks, or longer delays so that exchanges can be batched (one per minimum "
                   f"delay: now every {prov['exchange_interval']} step(s))")
    if prov["imbalance"] > 1.15:
        out.append(f"rank {slowest} is {prov['imbalance']:.2f}x the mean busy time: check "
                   "the placement with `spinn map --measured` (statistics from "
                   "`spinn run --statistics`)")
    if share.get("record", 0.0) > 0.3:
        out.append(f"recording is {100 * share['record']:.0f} % of step time: record fewer "
                   "cells or sample signals less often (sampling_interval)")
    if share.get("deliver", 0.0) > 0.6 and prov["ranks"] == 1:
        out.append(f"delivering synaptic events is {100 * share['deliver']:.0f} % of step "
                   "time: more ranks share it (`spinn run -n N`)")
    return out


def _by_rank(dicts, n_ranks: int) -> list:
    """One list indexed by rank from each process's {rank: value}."""
    out = [0.0] * n_ranks
    for d in dicts:
        for rank, value in d.items():
            out[rank] = value
    return out


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _is_source(pop) -> bool:
    from .models import MODELS
    return bool(getattr(MODELS.get(pop.model), "is_source", False))


def _setting(pop, name: str) -> int:
    """A live setting kept as a homogeneous parameter (SpikeInjector's port)."""
    value = pop.params.get(name, 0)
    return int(np.asarray(value, dtype=np.float64).ravel()[0]) if np.size(value) else 0


def socket_host(address: int) -> str:
    """Dotted IPv4 of an address kept as a number (127.0.0.1 for 0)."""
    import socket
    import struct
    return socket.inet_ntoa(struct.pack("!I", int(address) or 0x7F000001))


class Progress:
    """Run progress on stderr (MPI rank 0 only, when asked for).

    On a terminal (``style="bar"``): a one-line bar redrawn in place at most
    every 0.2 s: simulated time, steps per second, the real-time factor and
    the estimated time left. Elsewhere (``style="lines"``, e.g. a batch
    job's log): one plain line, without carriage returns, each time another
    tenth of the run is done. Either way nothing at all is written before the
    run has taken 2 s, so short runs (and tests) stay silent.
    """

    DELAY = 2.0       # seconds before anything is shown
    REDRAW = 0.2      # seconds between redraws of the bar

    def __init__(self, first_step: int, n_steps: int, dt: float, stream=None,
                 style: str | None = None):
        import sys
        self.first, self.n, self.dt = first_step, n_steps, dt
        self.stream = stream or sys.stderr
        if style is None:
            isatty = getattr(self.stream, "isatty", None)
            style = "bar" if isatty is not None and isatty() else "lines"
        if style not in ("bar", "lines"):
            raise ValueError(f"progress style must be 'bar' or 'lines', got {style!r}")
        self.style = style
        self.t0 = time.perf_counter()
        self.last_draw = 0.0
        self.tenths = 0           # lines style: tenths of the run already reported
        self.shown = False

    def update(self, k: int) -> None:
        """Step ``k`` is done (cheap: called after every step)."""
        now = time.perf_counter() - self.t0
        if now < self.DELAY:
            return
        if self.style == "bar":
            if now - self.last_draw < self.REDRAW:
                return
            self.last_draw = now
            self.shown = True
            self._bar(k + 1, now)
        else:
            tenths = (10 * (k + 1 - self.first)) // self.n if self.n else 10
            if tenths > self.tenths and tenths < 10:   # the 100 % line is finish()'s
                self.tenths = tenths
                self.shown = True
                self._line(k + 1, now)

    def _numbers(self, k: int, elapsed: float):
        done = k - self.first
        frac = done / self.n if self.n else 1.0
        rate = done / elapsed if elapsed > 0 else 0.0
        sim_ms = done * self.dt
        rtf = elapsed / (sim_ms / 1000.0) if sim_ms else float("nan")
        eta = (self.n - done) / rate if rate > 0 else float("nan")
        return frac, rate, sim_ms, rtf, eta

    def _bar(self, k: int, elapsed: float, final: bool = False) -> None:
        frac, rate, sim_ms, rtf, eta = self._numbers(k, elapsed)
        bar = "#" * int(30 * frac)
        tail = (f"took {format_duration(elapsed)}" if final
                else f"ETA {format_duration(eta)}")
        self.stream.write(f"\r[{bar:<30}] {sim_ms:,.1f}/{self.n * self.dt:,.1f} ms  "
                          f"{rate:,.0f} steps/s  real-time factor {rtf:.2f}  {tail}\x1b[K")
        self.stream.flush()

    def _line(self, k: int, elapsed: float, final: bool = False) -> None:
        frac, rate, sim_ms, rtf, eta = self._numbers(k, elapsed)
        tail = (f"took {format_duration(elapsed)}" if final
                else f"ETA {format_duration(eta)}")
        self.stream.write(f"spinn: run {100 * frac:3.0f}%: {sim_ms:,.1f}/{self.n * self.dt:,.1f} "
                          f"ms simulated, {rate:,.0f} steps/s, real-time factor {rtf:.2f}, "
                          f"{tail}\n")
        self.stream.flush()

    def finish(self, k: int) -> None:
        """The run is over at step ``k``: the last bar (and its newline) or the
        100 % line, if anything was shown (or the run took longer than 2 s)."""
        elapsed = time.perf_counter() - self.t0
        if not self.shown and elapsed < self.DELAY:
            return
        if self.style == "bar":
            self._bar(k, elapsed, final=True)
            self.stream.write("\n")
            self.stream.flush()
        else:
            self._line(k, elapsed, final=True)


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` (``m:ss`` under an hour); ``?`` when unknown."""
    if not seconds == seconds or seconds in (float("inf"), float("-inf")):
        return "?"
    s = int(round(max(seconds, 0.0)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def write_statistics(stats: dict, path: str) -> None:
    """The run's statistics as JSON (what ``spinn map --measured`` reads)."""
    with open(path, "w") as f:
        json.dump(stats, f, indent=1, default=_json_default)


def format_summary(stats: dict) -> str:
    """The short summary rank 0 prints after a run."""
    return (
        f"spinn: {stats['neurons']:,} neurons (+{stats['sources']:,} sources), "
        f"{stats['synapses']:,} synapses on {stats['ranks']} rank(s); "
        f"{stats['biological_s'] * 1000:g} ms simulated: {stats['neuron_spikes']:,} spikes "
        f"(+{stats['spikes'] - stats['neuron_spikes']:,} from sources), "
        f"mean rate {stats['mean_rate_hz']:.2f} Hz; "
        f"simulate wall time {stats['simulate_wall_s']:.3f} s "
        f"(real-time factor {stats['realtime_factor']:.2f}, "
        f"{stats['us_per_step']:.1f} µs/step); "
        f"map {stats['map_s']:.3f} s, build {stats['build_s']:.3f} s")


def format_provenance_summary(prov: dict) -> str:
    """The end-of-run lines after the summary: the slowest rank, its dominant
    phase, advice, and where the data are."""
    share = prov["phase_share"]
    phase = prov["dominant_phase"]
    lines = [f"spinn: slowest rank {prov['slowest_rank']} (busy {prov['imbalance']:.2f}x the "
             f"mean), mostly {phase} ({100 * share[phase]:.0f} % of its step time); "
             f"{prov['synaptic_events']:,} synaptic events delivered"]
    rt = prov.get("real_time")
    if rt:
        lines.append("spinn: real time: " + "; ".join(
            f"rank {r}: {late:,} late steps, worst {worst:.2f} ms, {100 * on:.1f} % on time"
            for r, (late, worst, on) in enumerate(zip(rt["late_steps_by_rank"],
                                                     rt["worst_lateness_ms_by_rank"],
                                                     rt["on_time_fraction_by_rank"]))))
    live = prov.get("live_input")
    if live:
        dropped = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in
                            live["dropped"].items() if n)
        lines.append(f"spinn: live input on UDP port {live['port']}: {live['spikes']:,} spikes "
                     f"injected from {live['datagrams']:,} datagrams; "
                     f"{live['dropped_total']:,} bad datagrams dropped"
                     + (f" ({dropped})" if dropped else ""))
    lines += [f"spinn: advice: {a}" for a in prov["advice"]]
    if prov.get("output"):
        lines.append(f"spinn: recordings and provenance in {prov['output']}")
    return "\n".join(lines)
