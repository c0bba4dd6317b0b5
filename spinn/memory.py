"""Refuse a network that does not fit in memory, before generating anything.

At the first ``run()`` :meth:`Simulation.build <spinn.simulation.Simulation.build>`
asks this module twice:

1. :func:`check_network` before mapping: each process says how much memory
   it has (one small ``allgather``); the whole network's estimate is compared
   with the memory of all ranks, and the mapping's own arrays (one set per
   slice, on every process) with each process's memory. This refuses
   ``Population(10**11)`` before the mapping allocates its slices.
2. :func:`check_ranks` after mapping, before any rank image is built: the
   estimate of every rank (its slices' neurons, its incoming synapses, its
   recording for the planned run) against the memory of the process hosting
   it. Pure arithmetic on the mapping (every process computes every rank), so
   every process reaches the same verdict without another collective.

Recording streams to files (:mod:`spinn.recording`): a rank holds at most
:data:`RECORDING_BUFFER_BYTES` of it in memory however long the run, and the
whole recording must fit on the disk of the output directory instead (each
process's free space there is gathered with its memory, so the verdict is
the same everywhere): a run whose recording would not fit is refused before
its first step, with the same kind of message.

A refusal is one :class:`~spinn.errors.ResourceError` with the same message on
every process: the rank that does not fit, its need and its memory, the
largest contributors (``Projection 'exc→exc': 6.37 TiB of synapses``) and
what would fit (ranks needed at this memory per rank, or the connection
probability / population size that would fit).

The memory a process has: ``SPINN_MEMORY_PER_RANK`` (``spinn run`` sets it
from the profile's ``memory_per_rank``; e.g. ``"4G"``) times the ranks it
hosts, minus what it already uses; else the node's available memory
(``MemAvailable``, within the cgroup's limit if lower) shared by the
processes on the node. ``setup(check_memory=False)`` or
``SPINN_CHECK_MEMORY=0`` skips the check.

Everything is estimated from the description and the mapping: expected
synapses per projection (each connector's ``expected_synapses``), bytes per
neuron of :func:`spinn.estimates.network_graph` (parameters, state, ring
buffer, bookkeeping), no connector is expanded and nothing is allocated per
neuron or per synapse.
"""
from __future__ import annotations

import logging
import math
import os
import re
import resource
import shutil
from dataclasses import dataclass, field

import numpy as np

from .errors import ResourceError
from .estimates import BYTES_PER_SYNAPSE, expected_synapses
from .fusion import fused_projections
from .recording import RankRecorder
from .values import is_homogeneous

__all__ = ["check_network", "check_ranks", "plan_run", "parse_size", "format_bytes", "process_memory",
           "MEMORY_PER_RANK_ENV", "CHECK_ENV"]

logger = logging.getLogger(__name__)

MEMORY_PER_RANK_ENV = "SPINN_MEMORY_PER_RANK"
CHECK_ENV = "SPINN_CHECK_MEMORY"

#: Peak memory of the mapping per slice, on every process (split, place,
#: keys; no tables): 125-133 B measured for 2·10⁵ to 2·10⁶ slices on 2 and
#: 1000 ranks (peak RSS of ``map_network`` over its slices).
BYTES_PER_SLICE_MAPPING = 130.0
#: Neurons cost more than the partitioner's bytes per neuron
#: (:func:`spinn.estimates.network_graph`: parameters, state, ring buffer,
#: bookkeeping): resident after the build, 1.5-3.0 times it (tracemalloc, 5·10⁵
#: neurons of IF_curr_exp, IF_cond_exp, Izhikevich, SpikeSourcePoisson,
#: EIF_cond_exp_isfa_ista on 1 rank) ...
NEURON_RESIDENT_FACTOR = 2.5
#: ... and the build of one rank adds 0.9-1.7 times it for a while (peak 2.5-4.1
#: times). A process builds its ranks one after the other: it pays this once,
#: for its largest rank.
NEURON_TRANSIENT_FACTOR = 1.5
#: Besides :data:`~spinn.estimates.BYTES_PER_SYNAPSE`, a plastic synapse keeps
#: its weight (float64), two traces of (after, before, time) and its delays.
PLASTIC_BYTES_PER_SYNAPSE = 72.0
#: A short-term synapse (:mod:`spinn.shortterm`) keeps ``x`` and ``u`` (float64),
#: its last spike and recovery time (int64), its identity key for the random
#: draws and its place in the rank's CSR (8 bytes each); and 8 bytes more for
#: each parameter given per synapse (not one number for the projection).
SHORT_TERM_BYTES_PER_SYNAPSE = 48.0
#: A recorded spike: global id and time stamp (int64 each), twice while the
#: per-step arrays are compacted.
BYTES_PER_SPIKE = 32.0
#: One step of a rank recording spikes: its array and list entries.
BYTES_PER_SPIKE_STEP = 130.0
#: One sample of a signal segment besides its values: its array and list entries.
BYTES_PER_SAMPLE = 130.0
#: Recording a rank holds in memory at most: it writes a chunk when more than
#: ``RankRecorder.CHUNK_VALUES`` values wait (twice that, for the step that
#: crosses the limit and the compaction).
RECORDING_BUFFER_BYTES = 2.0 * RankRecorder.CHUNK_VALUES * BYTES_PER_SPIKE

_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}


def parse_size(text) -> float:
    """Bytes of a size such as ``"4G"``, ``"512M"``, ``"1.5T"``, ``"4GiB"`` or ``"1000"``.

    >>> parse_size("4G"), parse_size("512m"), parse_size("2 GiB"), parse_size(1024)
    (4294967296.0, 536870912.0, 2147483648.0, 1024.0)
    """
    if isinstance(text, (int, float)):
        return float(text)
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgtp]?)(?:i?b)?\s*", str(text),
                         re.IGNORECASE)
    if not match:
        raise ResourceError(
            f"{MEMORY_PER_RANK_ENV}={text!r} is not a size: give a number with a unit "
            f"K, M, G or T, e.g. \"4G\"")
    return float(match.group(1)) * _UNITS[match.group(2).upper()]


def format_bytes(n: float) -> str:
    """``7.0 TiB``, ``253 MiB``, ``12 KiB``, ``10 B``.

    >>> format_bytes(5e11 * 14), format_bytes(3 * 2**20), format_bytes(100)
    ('6.37 TiB', '3.00 MiB', '100 B')
    """
    for unit in ("PiB", "TiB", "GiB", "MiB", "KiB"):
        size = _UNITS[unit[0]]
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"


# -- what a process has ------------------------------------------------------------


def _meminfo_available() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_room() -> float | None:
    """Limit minus usage of this process's memory cgroup (v2 or v1), if limited."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    candidates = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":               # v2
            for base in ("/sys/fs/cgroup" + path, "/sys/fs/cgroup"):
                candidates.append((base + "/memory.max", base + "/memory.current"))
        elif "memory" in controllers.split(","):
            for base in ("/sys/fs/cgroup/memory" + path, "/sys/fs/cgroup/memory"):
                candidates.append((base + "/memory.limit_in_bytes",
                                   base + "/memory.usage_in_bytes"))
    for limit_file, usage_file in candidates:
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
            with open(usage_file) as f:
                usage = float(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or float(limit) >= 2**60:
            return None
        return max(float(limit) - usage, 0.0)
    return None


def _current_rss() -> float:
    """Resident memory of this process now (peak if /proc is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return float(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _node_processes(exchange) -> int:
    count = getattr(exchange, "node_processes", None)
    return max(1, int(count())) if callable(count) else 1


def disk_free(path) -> tuple:
    """``(free bytes, directory)`` where ``path`` is or would be created
    (its nearest existing ancestor); ``(inf, path)`` if that cannot be told."""
    from pathlib import Path
    where = Path(path).absolute()
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        return float(shutil.disk_usage(where).free), str(where)
    except OSError:
        return math.inf, str(where)


def process_memory(exchange, output=None) -> dict:
    """What this process has: ``available`` bytes for its ranks, ``per_rank``
    (the nominal memory of one rank), ``ranks`` hosted, ``origin`` (for
    messages), and ``disk`` bytes free for the recording at ``output`` (the
    output directory, made or to be made; ``disk_at`` names the place)."""
    out = _process_memory(exchange)
    out["disk"], out["disk_at"] = disk_free(output) if output is not None else (math.inf, "")
    return out


def _process_memory(exchange) -> dict:
    ranks = tuple(int(r) for r in exchange.local_ranks)
    given = os.environ.get(MEMORY_PER_RANK_ENV, "").strip()
    if given:
        per_rank = parse_size(given)
        available = per_rank * len(ranks) - _current_rss()
        return {"available": available, "per_rank": per_rank, "ranks": ranks,
                "origin": f"{MEMORY_PER_RANK_ENV}={given}"}
    node = _meminfo_available()
    room = _cgroup_room()
    origin = "available memory of the node"
    if room is not None and (node is None or room < node):
        node, origin = room, "room left in the memory cgroup"
    if node is None:
        return {"available": math.inf, "per_rank": math.inf, "ranks": ranks,
                "origin": "unknown"}
    sharing = _node_processes(exchange)
    available = node / sharing
    if sharing > 1:
        origin += f" shared by its {sharing} processes"
    # virtual ranks share the process: more of them bring no memory
    return {"available": available, "per_rank": available, "ranks": ranks, "origin": origin}


def _enabled(sim) -> bool:
    if os.environ.get(CHECK_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return bool(getattr(sim, "check_memory", True))


# -- what the network needs ------------------------------------------------------------


@dataclass
class _Parts:
    """Bytes by contributor: ``(kind, label) -> bytes`` for one rank, process or network."""
    bytes: dict = field(default_factory=dict)

    def add(self, kind: str, label: str, n: float) -> None:
        if n > 0:
            self.bytes[(kind, label)] = self.bytes.get((kind, label), 0.0) + float(n)

    def total(self) -> float:
        return float(sum(self.bytes.values()))

    def of(self, kind: str) -> float:
        return float(sum(v for (k, _), v in self.bytes.items() if k == kind))


def _synapse_bytes(projection) -> float:
    extra = 0.0
    if projection.plasticity is not None:
        extra += PLASTIC_BYTES_PER_SYNAPSE
    if projection.short_term is not None:
        extra += SHORT_TERM_BYTES_PER_SYNAPSE
        extra += 8.0 * sum(not is_homogeneous(v) for _, v in projection.short_term.values())
    return BYTES_PER_SYNAPSE + extra


def _post_counts(spec, projection) -> dict:
    """Neurons of each post population in the projection (no per-neuron work for one)."""
    if len(projection.post_populations) == 1:
        return {projection.post_populations[0]: len(projection.post)}
    counts = np.bincount(spec.population_of_gid(np.asarray(projection.post, dtype=np.int64)),
                         minlength=len(spec.populations))
    return {p: int(counts[p]) for p in projection.post_populations if counts[p]}


@dataclass
class _Estimate:
    """Per-population rates of need: bytes per neuron of state, synapse bytes
    per post neuron by projection, recording per recorded neuron."""
    spec: object
    graph: object
    steps: int | None
    #: (projection id, post population, bytes per post neuron, synapses)
    synapses: list = field(default_factory=list)

    @classmethod
    def of(cls, spec, graph, steps):
        est = cls(spec, graph, steps)
        fused = set(fused_projections(spec).values())
        for projection in spec.projections:
            if projection.id in fused:        # generated next to the targets: no rows
                continue
            total = expected_synapses(projection, spec)
            post = _post_counts(spec, projection)
            n_post = sum(post.values())
            if not n_post or not total:
                continue
            for b, n_b in post.items():
                share = total * n_b / n_post
                est.synapses.append((projection.id, b, share * _synapse_bytes(projection) / n_b,
                                     share))
        return est

    def recording(self, population, n_recorded: dict) -> dict:
        """Bytes of each recorded variable for ``n_recorded[variable]`` cells."""
        out = {}
        if not self.steps:
            return out
        rate = float(self.graph.rates()[population.id])
        seconds = self.steps * self.spec.dt_ms / 1000.0
        for variable, spec in population.record.items():
            n = n_recorded.get(variable, 0)
            if not n:
                continue
            if variable == "spikes":
                out[variable] = n * rate * seconds * BYTES_PER_SPIKE
            else:
                samples = self.steps // max(spec.interval, 1) + 1
                out[variable] = samples * (n * 8.0 + BYTES_PER_SAMPLE)
        return out

    def step_overhead(self, recorded_spikes: bool) -> float:
        return (self.steps or 0) * BYTES_PER_SPIKE_STEP if recorded_spikes else 0.0

    def neuron_bytes(self, v: int, factor: float = NEURON_RESIDENT_FACTOR) -> float:
        """Resident bytes of one neuron of population ``v`` (``factor`` times the graph's)."""
        per_atom = self.graph.bytes_per_atom
        return 0.0 if per_atom is None else factor * float(per_atom[v])

    def parts(self, atoms: dict, recorded: dict, ranks: int = 1) -> _Parts:
        """Contributors in memory for ``atoms[v]`` neurons of each population
        (and ``recorded[v][variable]`` recorded cells among them) on ``ranks``
        ranks: recording counts up to :data:`RECORDING_BUFFER_BYTES` a rank
        (the rest is on disk, :meth:`recording_on_disk`)."""
        spec, graph = self.spec, self.graph
        parts = _Parts()
        for v, n in atoms.items():
            if n:
                parts.add("neuron state", f"Population {spec.populations[v].label!r}",
                          n * self.neuron_bytes(v))
        for pid, b, per_neuron, _ in self.synapses:
            n = atoms.get(b, 0)
            if n:
                parts.add("synapses", f"Projection {spec.projections[pid].label!r}",
                          n * per_neuron)
        recording = self.recording_on_disk(recorded)
        total = recording.total()
        scale = min(1.0, RECORDING_BUFFER_BYTES * ranks / total) if total else 1.0
        for key, nbytes in recording.bytes.items():
            parts.add(*key, nbytes * scale)
        return parts

    def recording_on_disk(self, recorded: dict) -> _Parts:
        """Bytes the recording of ``recorded[v][variable]`` cells writes in the
        planned run, by variable."""
        parts = _Parts()
        any_spikes = False
        for v, by_variable in recorded.items():
            population = self.spec.populations[v]
            for variable, nbytes in self.recording(population, by_variable).items():
                parts.add("recording", f"Population {population.label!r} {variable}", nbytes)
            any_spikes |= bool(by_variable.get("spikes"))
        parts.add("recording", "spike recording per step", self.step_overhead(any_spikes))
        return parts

    def network(self, ranks: int = 1) -> _Parts:
        """Contributors of the whole network (in memory, on ``ranks`` ranks)."""
        atoms = {p.id: p.size for p in self.spec.populations}
        recorded = {p.id: {var: rs.count for var, rs in p.record.items()}
                    for p in self.spec.populations if p.record}
        return self.parts(atoms, recorded, ranks=ranks)

    def synapse_count(self, pid: int) -> float:
        return sum(s for p, _, _, s in self.synapses if p == pid)


def _planned_steps(sim) -> int | None:
    planned = getattr(sim, "planned_steps", None)
    return None if planned is None else int(sim.step) + int(planned)


def _n_slices(graph) -> int:
    return int((-(-graph.n_atoms // graph.max_atoms_per_core)).sum())


# -- the checks ----------------------------------------------------------------------


def check_network(sim, graph) -> list | None:
    """Before mapping (collective): gather what each process has, refuse a
    network whose estimate exceeds the memory of all ranks, or whose mapping
    alone exceeds a process's memory. Returns the gathered budgets for
    :func:`check_ranks` (None when the check is off)."""
    if not _enabled(sim):
        return None
    output = sim.output_location() if hasattr(sim, "output_location") else None
    budgets = sim.exchange.allgather(process_memory(sim.exchange, output))
    estimate = _Estimate.of(sim.spec, graph, _planned_steps(sim))
    mapping = BYTES_PER_SLICE_MAPPING * _n_slices(graph)
    whole = estimate.network(ranks=sim.exchange.n_ranks)
    # each process builds its ranks one by one: the transient of one rank each
    state = 0.0 if graph.bytes_per_atom is None else float(graph.n_atoms @ graph.bytes_per_atom)
    building = NEURON_TRANSIENT_FACTOR * state * len(budgets) / sim.exchange.n_ranks
    need = whole.total() + (mapping + building / len(budgets)) * len(budgets)
    have = sum(b["available"] for b in budgets)
    worst = min(range(len(budgets)), key=lambda p: (budgets[p]["available"], p))
    if need > have or mapping > budgets[worst]["available"]:
        parts = _Parts(dict(whole.bytes))
        parts.add("mapping", f"the mapping ({_n_slices(graph)} slices, on every process)",
                  mapping)
        parts.add("build", "building one rank per process (transient)", building)
        n = sim.exchange.n_ranks
        where = (f"the whole network needs an estimated {format_bytes(need)} but its "
                 f"{_plural(n, 'rank')} {'has' if n == 1 else 'have'} {format_bytes(have)}"
                 f"{'' if n == 1 else ' together'} ({_describe(budgets)})")
        raise ResourceError(_message(where, parts, estimate, budgets, whole.total(),
                                     mapping, have, need))
    sim.memory_budgets = budgets
    return budgets


def plan_run(sim, n_steps: int) -> None:
    """Before ``run()``: note its length (the build counts the recording of
    the run), and once built, refuse a run whose recording would not fit
    (pure arithmetic on the mapping and the budgets gathered at the build)."""
    sim.planned_steps = int(n_steps)
    budgets = getattr(sim, "memory_budgets", None)
    if (sim.built and budgets is not None and _enabled(sim)
            and any(p.record for p in sim.spec.populations)):
        check_ranks(sim, sim.mapping.graph, sim.mapping, budgets)


def check_ranks(sim, graph, mapping, budgets) -> None:
    """After mapping, before building: refuse if a process's ranks need more
    than it has (the same verdict on every process, no collective)."""
    if budgets is None:
        return
    spec = sim.spec
    estimate = _Estimate.of(spec, graph, _planned_steps(sim))
    slices, rank = mapping.slices, mapping.placement.rank
    sizes = slices.sizes()
    n_ranks = mapping.placement.n_ranks
    per_slice, recording, transient, spikes = _slice_bytes(estimate, slices, sizes)
    per_rank = np.bincount(rank, weights=per_slice, minlength=n_ranks)
    building = np.bincount(rank, weights=transient, minlength=n_ranks)
    written = np.bincount(rank, weights=recording, minlength=n_ranks)
    written += estimate.step_overhead(True) * (np.bincount(
        rank, weights=spikes, minlength=n_ranks) > 0)
    _check_disk(sim, estimate, budgets, written, slices, rank)
    per_rank += np.minimum(written, RECORDING_BUFFER_BYTES)      # the rest is on disk
    overhead = BYTES_PER_SLICE_MAPPING * slices.vertex.size
    needs = [overhead + float(per_rank[list(b["ranks"])].sum())
             + float(building[list(b["ranks"])].max()) for b in budgets]
    ratios = [n / b["available"] if b["available"] > 0 else math.inf
              for n, b in zip(needs, budgets)]
    me = getattr(sim.exchange, "process_rank", 0)
    logger.info("memory check: this process needs an estimated %s of its %s (%s)",
                format_bytes(needs[me]), format_bytes(budgets[me]["available"]),
                budgets[me]["origin"])
    p = int(np.argmax(ratios))
    if ratios[p] <= 1.0:
        return
    hosted = list(budgets[p]["ranks"])
    on = np.isin(rank, hosted)
    atoms = {int(v): int(n) for v, n in enumerate(np.bincount(
        slices.vertex[on], weights=sizes[on], minlength=graph.n_vertices)) if n}
    recorded = _recorded(spec, slices, on)
    parts = estimate.parts(atoms, recorded, ranks=len(hosted))
    parts.add("mapping", f"the mapping ({slices.vertex.size} slices)", overhead)
    parts.add("build", "building its largest rank (transient)",
              float(building[hosted].max()))
    whole = estimate.network(ranks=n_ranks).total()
    who = (f"rank {hosted[0]}" if len(hosted) == 1 else
           f"this process (virtual ranks {hosted[0]}-{hosted[-1]})"
           if sim.exchange.n_processes == 1 else
           f"MPI process {p} (ranks {hosted[0]}-{hosted[-1]})")
    where = (f"{who} needs an estimated {format_bytes(needs[p])} but has "
             f"{format_bytes(budgets[p]['available'])} ({budgets[p]['origin']})")
    raise ResourceError(_message(where, parts, estimate, budgets, whole, overhead,
                                 budgets[p]["available"], needs[p]))


def _check_disk(sim, estimate, budgets, written, slices, rank) -> None:
    """Refuse a run whose recording (``written[r]`` bytes from rank ``r``)
    would not fit on the disk of its process's output directory."""
    for p, budget in enumerate(budgets):
        need = float(written[list(budget["ranks"])].sum())
        free = budget.get("disk", math.inf)
        if need <= free:
            continue
        on = np.isin(rank, list(budget["ranks"]))
        parts = estimate.recording_on_disk(_recorded(estimate.spec, slices, on))
        top = sorted(parts.bytes.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        hosted = list(budget["ranks"])
        who = (f"rank {hosted[0]}" if len(hosted) == 1 else
               f"MPI process {p} (ranks {hosted[0]}-{hosted[-1]})")
        steps = estimate.steps or 0
        lines = [f"the recording does not fit on disk: {who} would write an estimated "
                 f"{format_bytes(need)} in the {steps:,} steps planned, but "
                 f"{budget.get('disk_at') or 'its output directory'} has "
                 f"{format_bytes(free)} free. Largest contributors:"]
        lines += [_label(kind, label, nbytes, estimate.spec) for (kind, label), nbytes in top]
        lines.append("Record fewer cells, less often (sampling_interval), or run shorter; "
                     "or write the output elsewhere (setup(output=...), spinn run --output, "
                     "SPINN_OUTPUT).")
        raise ResourceError("\n".join(lines))


def _slice_bytes(estimate, slices, sizes):
    """Estimated bytes in memory of each slice (state, synapses), the bytes
    its recording writes in the planned run, the transient of its build, and
    which slices record spikes (their rank pays the per-step overhead once)."""
    graph, spec = estimate.graph, estimate.spec
    state = (np.zeros(graph.n_vertices) if graph.bytes_per_atom is None
             else graph.bytes_per_atom.copy())
    per_atom = NEURON_RESIDENT_FACTOR * state
    for _, b, per_neuron, _ in estimate.synapses:
        per_atom[b] += per_neuron
    out = sizes * per_atom[slices.vertex]
    recording = np.zeros(slices.vertex.size)
    transient = NEURON_TRANSIENT_FACTOR * sizes * state[slices.vertex]
    spikes = np.zeros(slices.vertex.size, dtype=bool)
    if not estimate.steps:
        return out, recording, transient, spikes
    for population in spec.populations:
        if not population.record:
            continue
        which = np.flatnonzero(slices.vertex == population.id)
        for variable, rs in population.record.items():
            n = rs.count_between(slices.lo[which], slices.hi[which]).astype(np.float64)
            if variable == "spikes":
                recording[which] += n * estimate.recording(population, {variable: 1})[variable]
                spikes[which] |= n > 0
            else:           # samples * (n * 8 + overhead), the overhead per slice
                samples = estimate.steps // max(rs.interval, 1) + 1
                recording[which] += np.where(n > 0, samples * (n * 8.0 + BYTES_PER_SAMPLE),
                                             0.0)
    return out, recording, transient, spikes


def _recorded(spec, slices, on) -> dict:
    """``{population: {variable: recorded cells}}`` on the slices ``on``."""
    out = {}
    for population in spec.populations:
        if not population.record:
            continue
        mine = on & (slices.vertex == population.id)
        if not mine.any():
            continue
        out[population.id] = {
            var: int(rs.count_between(slices.lo[mine], slices.hi[mine]).sum())
            for var, rs in population.record.items()}
    return out


# -- the message ---------------------------------------------------------------------


def _from_env(budgets) -> bool:
    return any(b["origin"].startswith(MEMORY_PER_RANK_ENV) for b in budgets)


def _unit(budgets) -> float:
    """Memory of the smallest rank (given per rank) or process (node memory:
    virtual ranks share their process's)."""
    per_rank = _from_env(budgets)
    return min(b["available"] / (len(b["ranks"]) if per_rank else 1) for b in budgets)


def _describe(budgets) -> str:
    origins = "; ".join(sorted({b["origin"] for b in budgets}))
    what = "rank" if _from_env(budgets) else "process"
    return f"{format_bytes(_unit(budgets))} per {what}: {origins}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _label(kind: str, label: str, nbytes: float, spec) -> str:
    if kind in ("mapping", "build"):
        return f"  {label}: {format_bytes(nbytes)}"
    detail = ""
    if kind == "synapses":
        proj = next(p for p in spec.projections if f"Projection {p.label!r}" == label)
        size = _synapse_bytes(proj)
        detail = f" ({nbytes / size:.3g} synapses x {size:.0f} B)"
    return f"  {label}: {format_bytes(nbytes)} of {kind}{detail}"


def _message(where, parts, estimate, budgets, network_total, mapping, have, need) -> str:
    top = sorted(parts.bytes.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    lines = [f"the network does not fit in memory: {where}. Largest contributors:"]
    lines += [_label(kind, label, nbytes, estimate.spec) for (kind, label), nbytes in top]
    lines.append(_what_fits(parts, estimate, budgets, network_total, mapping, have, need))
    lines.append(f"If the memory is misjudged, set {MEMORY_PER_RANK_ENV} (e.g. \"4G\"; "
                 f"`spinn run` sets it from the profile's memory_per_rank); "
                 f"setup(check_memory=False) or {CHECK_ENV}=0 skips this check.")
    return "\n".join(lines)


def _largest(parts, kind):
    return max(((label, b) for (k, label), b in parts.bytes.items() if k == kind),
               key=lambda kv: (kv[1], kv[0]))


def _what_fits(parts, estimate, budgets, network_total, mapping, have, need) -> str:
    """Ranks needed at this memory, or the probability / size that would fit."""
    spec = estimate.spec
    unit = _unit(budgets)
    hints = []
    room = unit - mapping
    if room > 0 and math.isfinite(unit):
        ranks = max(1, math.ceil(network_total / room))
        hints.append(f"it would fit on at least {ranks} MPI ranks of {format_bytes(unit)} "
                     f"each (more if the placement is uneven)")
    else:
        hints.append(f"the mapping alone needs {format_bytes(mapping)} on every process, more "
                     f"than {format_bytes(unit)}: no number of ranks of this memory fits it")
    total = parts.total()
    spare = have - (need - total)          # what the parts listed may use
    synapses = parts.of("synapses")
    neurons = parts.of("neuron state") + parts.of("mapping") + parts.of("build")
    if synapses >= 0.5 * total and synapses > 0:
        label, largest = _largest(parts, "synapses")
        keep = (spare - (total - largest)) / largest
        proj = next(p for p in spec.projections if f"Projection {p.label!r}" == label)
        p_connect = getattr(proj.connector, "p_connect", None)
        if 0 < keep < 1 and p_connect is not None:
            hints.append(f"or {label} with p_connect <= {p_connect * keep:.3g} "
                         f"instead of {p_connect:g}")
        elif 0 < keep < 1:
            hints.append(f"or {label} with at most "
                         f"{estimate.synapse_count(proj.id) * keep:.3g} synapses")
        elif 0 < spare < synapses:
            hints.append(f"or all synapses cut to {100 * spare / synapses:.2g}%")
    elif neurons >= 0.5 * total and parts.of("neuron state") > 0:
        # the mapping grows with the neurons too: charge it to them
        label, largest = _largest(parts, "neuron state")
        pop = next(p for p in spec.populations if f"Population {p.label!r}" == label)
        share = largest / parts.of("neuron state")
        scalable = largest + share * (parts.of("mapping") + parts.of("build"))
        keep = (min(spare, unit) - (total - scalable)) / scalable
        if 0 < keep < 1:
            hints.append(f"or {label} of at most {int(pop.size * keep):,} neurons "
                         f"instead of {pop.size:,}")
    elif parts.of("recording") >= 0.5 * total:
        hints.append("or record fewer cells, less often, or run shorter")
    return "What would fit: " + ", ".join(hints) + "."
