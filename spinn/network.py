"""The engine's network description: frozen, versioned, free of callables.

The PyNN layer edits a :class:`NetworkDraft` while the script describes the
network and changes it between runs; :meth:`NetworkDraft.freeze` returns an
immutable :class:`NetworkSpec` with a version number. Everything the ranks
build, and every change they apply between runs, comes from such a frozen
spec: the ranks never see anything that could change under them, and two MPI
processes can prove they hold the same description by comparing
:meth:`NetworkSpec.digest` (a mismatch names the first object that differs,
:func:`first_difference`).

Per-neuron values stay lazy (numbers, read-only arrays, or
:class:`~spinn.values.RandomValue` drawn from keyed streams) until a rank
evaluates the slices it owns; synapses do not exist until a rank builds its
image (:mod:`spinn.build`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import pickle
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np

from .errors import SimulationStateError
from .validation import check_spec
from .values import RecordSpec, SpikeTimes, frozen_array, is_homogeneous

__all__ = ["GidRange", "steps_to_ms", "PopulationSpec", "ProjectionSpec", "SynapseUpdate",
           "CurrentSourceSpec", "NetworkSpec", "NetworkDraft", "Changes", "changes_between",
           "first_difference", "fingerprint"]


class GidRange:
    """The global ids ``start .. start + size - 1`` without storing them.

    Behaves like the read-only int64 array it stands for where the engine
    needs it (``len``, indexing with ints, slices and index arrays, and
    ``numpy.asarray``), so that a projection between whole populations costs
    nothing per neuron until a rank expands it.

    >>> r = GidRange(10, 5)
    >>> len(r), int(r[1]), r[np.array([0, 4])].tolist()
    (5, 11, [10, 14])
    """
    __slots__ = ("start", "size")

    def __init__(self, start: int, size: int):
        object.__setattr__(self, "start", int(start))
        object.__setattr__(self, "size", int(size))

    def __setattr__(self, name, value):
        raise AttributeError("GidRange is immutable")

    def __len__(self):
        return self.size

    @property
    def shape(self):
        return (self.size,)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            i = int(index) + (self.size if index < 0 else 0)
            if not 0 <= i < self.size:
                raise IndexError(index)
            return np.int64(self.start + i)
        if isinstance(index, slice):
            return np.arange(self.start, self.start + self.size, dtype=np.int64)[index]
        index = np.asarray(index)
        if index.dtype == bool:
            return np.flatnonzero(index).astype(np.int64) + self.start
        return index.astype(np.int64) + self.start

    def __array__(self, dtype=None, copy=None):
        return np.arange(self.start, self.start + self.size, dtype=dtype or np.int64)

    def __repr__(self):
        return f"GidRange({self.start}, {self.size})"

    def index_of(self, gids: np.ndarray) -> np.ndarray:
        """Index of each gid in this range, or -1 where it is not in it."""
        gids = np.asarray(gids, dtype=np.int64)
        index = gids - self.start
        return np.where((index >= 0) & (index < self.size), index, -1)


def gid_index(gids, wanted: np.ndarray) -> np.ndarray:
    """Index of each of ``wanted`` in ``gids`` (a GidRange or an int64 array
    without repeats), or -1 where it is absent."""
    if isinstance(gids, GidRange):
        return gids.index_of(wanted)
    gids = np.asarray(gids)
    wanted = np.asarray(wanted, dtype=np.int64)
    if gids.size == 0:
        return np.full(wanted.shape, -1, dtype=np.int64)
    order = np.argsort(gids, kind="stable")
    pos = np.minimum(np.searchsorted(gids[order], wanted), gids.size - 1)
    return np.where(gids[order][pos] == wanted, order[pos], -1).astype(np.int64)


def steps_to_ms(steps, dt: float) -> np.ndarray:
    """Times or delays in steps as ms, without ``0.1 * 3 = 0.30000000000000004``.

    When ``1/dt`` is a whole number, dividing by it gives the correctly
    rounded decimal value (152 / 10 = 15.2).

    >>> steps_to_ms(np.array([152, 3]), 0.1).tolist()
    [15.2, 0.3]
    """
    per_ms = 1.0 / dt
    if abs(per_ms - round(per_ms)) < 1e-9:
        return np.asarray(steps) / round(per_ms)
    return np.asarray(steps) * dt


# -- fingerprints ---------------------------------------------------------------

def fingerprint(value) -> bytes:
    """Bytes that identify ``value`` the same way in every process.

    Arrays by dtype, shape and content; numbers by ``repr``; frozen
    dataclasses field by field; mappings by sorted key; a user's pure
    function (a distance expression) by its code and constants.
    """
    h = hashlib.sha256()
    _feed(h, value)
    return h.digest()


def _feed(h, value) -> None:
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        if array.dtype == object:
            h.update(f"objects{array.shape};".encode())
            for item in array.ravel():
                _feed(h, item)
            return
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        h.update(f"nd:{array.dtype.str}:{array.shape};".encode())
        h.update(array.tobytes())
    elif isinstance(value, GidRange):
        h.update(f"gids:{value.start}:{value.size};".encode())
    elif isinstance(value, (tuple, list)):
        h.update(f"seq{len(value)}(".encode())
        for item in value:
            _feed(h, item)
        h.update(b")")
    elif isinstance(value, (dict, MappingProxyType)):
        h.update(f"map{len(value)}(".encode())
        for key in sorted(value):
            h.update(f"{key!r}=".encode())
            _feed(h, value[key])
        h.update(b")")
    elif dataclasses.is_dataclass(value):
        h.update(f"{type(value).__qualname__}(".encode())
        for f in dataclasses.fields(value):
            if f.compare:
                h.update(f"{f.name}=".encode())
                _feed(h, getattr(value, f.name))
        h.update(b")")
    elif callable(value) and hasattr(value, "__code__"):
        code = value.__code__
        h.update(f"function {value.__qualname__};".encode())
        h.update(code.co_code)
        _feed(h, code.co_names)
        _feed(h, tuple(c for c in code.co_consts if not hasattr(c, "co_code")))
    else:
        try:
            h.update(pickle.dumps(value, protocol=4))
        except Exception:
            h.update(f"{type(value).__qualname__}:{value!r}".encode())


class _Described:
    """Field-by-field digests of a frozen description object (cached)."""

    @cached_property
    def field_digests(self) -> tuple:
        return tuple((f.name, fingerprint(getattr(self, f.name)).hex()[:16])
                     for f in dataclasses.fields(self) if f.compare)

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(repr(self.field_digests).encode()).hexdigest()


def _mapping(values) -> MappingProxyType:
    return MappingProxyType(dict(values))


def _frozen_value(value):
    if isinstance(value, np.ndarray):
        return frozen_array(value, np.float64 if value.dtype != object else None)
    return value


# -- the description --------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class PopulationSpec(_Described):
    """One population: a block of ``size`` consecutive global neuron ids.

    ``params`` and ``initial`` map names to per-neuron values (numbers,
    read-only arrays, :class:`~spinn.values.RandomValue`), in PyNN units;
    ``record`` maps a variable to its :class:`~spinn.values.RecordSpec`.
    """
    id: int
    label: str
    size: int
    model: str
    first_gid: int
    params: MappingProxyType = field(default_factory=dict)
    initial: MappingProxyType = field(default_factory=dict)
    max_atoms_per_core: int = 256
    #: SpikeSourceArray only
    spike_times: SpikeTimes | None = None
    record: MappingProxyType = field(default_factory=dict)
    #: positions (3, size) for distance-dependent connectors, or None
    positions: object = None
    #: the population's own seed (sPyNNaker's ``Population(..., seed=...)``,
    #: :mod:`spinn.compat`), or None for the network seed: its random
    #: parameters and initial values and its per-step random streams (a
    #: Poisson source's spikes) then come from it (:func:`spinn.rng.population_seed`)
    seed: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "params", _mapping(
            (k, _frozen_value(v)) for k, v in self.params.items()))
        object.__setattr__(self, "initial", _mapping(
            (k, _frozen_value(v)) for k, v in self.initial.items()))
        record = dict(self.record)
        for variable, spec in record.items():
            if not isinstance(spec, RecordSpec):
                raise TypeError(f"record[{variable!r}] must be a RecordSpec")
        object.__setattr__(self, "record", _mapping(record))

    @property
    def gids(self) -> GidRange:
        return GidRange(self.first_gid, self.size)

    def describe(self) -> str:
        return f"Population '{self.label}'"


@dataclass(frozen=True)
class SynapseUpdate:
    """``Projection.set(<attribute>=value)``: applied after generation, in order.
    ``serial`` numbers the projection's updates (it keys random draws)."""
    attribute: str              # "weight" or "delay"
    value: object               # a synaptic value (see spinn.values)
    serial: int


@dataclass(frozen=True, eq=False)
class ProjectionSpec(_Described):
    """Synapses from ``pre`` (global ids of the projection's pre indices) to ``post``.

    ``connector`` is a :mod:`spinn.connectors` object; ``seed`` keys its
    streams. ``weight``/``delay`` are synaptic values (PyNN units: nA, µS or
    mV; ms), ``updates`` the ``Projection.set`` calls made since.
    """
    id: int
    label: str
    pre: object                     # GidRange or read-only int64 array
    post: object
    pre_populations: tuple
    post_populations: tuple
    connector: object
    seed: int
    weight: object
    delay: object
    receptor: int                   # 0 excitatory, 1 inhibitory
    receptor_name: str = "excitatory"
    #: sign rule for weights: +1 weights must be >= 0, -1 must be <= 0, 0 any
    weight_sign: int = 0
    #: a plasticity.PlasticitySpec, or None for static synapses
    plasticity: object = None
    #: a shortterm.ShortTermSpec (Tsodyks-Markram), or None
    short_term: object = None
    #: the PyNN Space of distance-dependent connectors and values (a
    #: spinn.positions.SpaceSpec), or None
    space: object = None
    updates: tuple = ()

    def __post_init__(self):
        for side in ("pre", "post"):
            gids = getattr(self, side)
            if not isinstance(gids, GidRange):
                object.__setattr__(self, side, frozen_array(gids, np.int64))
        for name in ("weight", "delay"):
            object.__setattr__(self, name, _frozen_value(getattr(self, name)))
        object.__setattr__(self, "pre_populations", tuple(self.pre_populations))
        object.__setattr__(self, "post_populations", tuple(self.post_populations))
        object.__setattr__(self, "updates", tuple(self.updates))

    @property
    def n_pre(self) -> int:
        return len(self.pre)

    @property
    def n_post(self) -> int:
        return len(self.post)

    def describe(self) -> str:
        return f"Projection '{self.label}'"


@dataclass(frozen=True, eq=False)
class CurrentSourceSpec(_Described):
    """A current source: ``kind`` ``"dc"``, ``"ac"``, ``"step"`` or ``"noisy"``,
    parameters in PyNN units, the global ids it is injected into."""
    id: int
    kind: str
    params: MappingProxyType
    targets: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    record: bool = False
    label: str = ""

    def __post_init__(self):
        object.__setattr__(self, "params", _mapping(
            (k, frozen_array(v) if isinstance(v, np.ndarray) else v)
            for k, v in self.params.items()))
        object.__setattr__(self, "targets", frozen_array(self.targets, np.int64))

    def describe(self) -> str:
        return f"{self.label or 'current source'} (source {self.id})"


@dataclass(frozen=True, eq=False)
class NetworkSpec:
    """Everything needed to map and build the network, identical on all ranks.

    ``version`` counts the changes the script made (0 before the first
    freeze that holds anything).
    """
    dt_ms: float
    seed: int
    version: int = 0
    populations: tuple = ()
    projections: tuple = ()
    current_sources: tuple = ()
    #: generate one-to-one sources next to their targets (spinn.fusion)
    fuse_sources: bool = True

    def __post_init__(self):
        for name in ("populations", "projections", "current_sources"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)

    @cached_property
    def _first_gids(self) -> np.ndarray:
        return np.array([p.first_gid for p in self.populations], dtype=np.int64)

    def population_of_gid(self, gids) -> np.ndarray:
        """Index of the population holding each global neuron id."""
        return np.searchsorted(self._first_gids, gids, side="right") - 1

    def objects(self):
        """``(description, object)`` of every population, projection and current source."""
        for group in (self.populations, self.projections, self.current_sources):
            for obj in group:
                yield obj.describe(), obj

    def object_digests(self) -> list:
        """Per object: its description and its field digests (for naming a mismatch)."""
        head = ("network", (("dt_ms", repr(self.dt_ms)), ("seed", repr(self.seed)),
                            ("fuse_sources", repr(self.fuse_sources))))
        return [head] + [(name, obj.field_digests) for name, obj in self.objects()]

    @cached_property
    def digest(self) -> str:
        """SHA-256 (hex) of the whole description: every object and every field."""
        h = hashlib.sha256(f"dt={self.dt_ms!r};seed={self.seed!r};"
                           f"fuse={self.fuse_sources!r};".encode())
        for name, obj in self.objects():
            h.update(f"{name}:{obj.digest};".encode())
        return h.hexdigest()


def first_difference(mine: list, theirs: list) -> str | None:
    """The first object (and field) whose digests differ between two
    :meth:`NetworkSpec.object_digests` lists, as text; None if they agree."""
    for (name_a, fields_a), (name_b, fields_b) in zip(mine, theirs):
        if name_a != name_b:
            return f"{name_a} (the other process has {name_b} there)"
        if fields_a != fields_b:
            for (f, a), (_, b) in zip(fields_a, fields_b):
                if a != b:
                    return f"{name_a}, field '{f}'"
            return name_a
    if len(mine) != len(theirs):
        longer = mine if len(mine) > len(theirs) else theirs
        return f"{longer[min(len(mine), len(theirs))][0]} (exists in only one process)"
    return None


#: fields whose change :meth:`NetworkDraft.replace` checks (spinn.validation)
_VALUES = frozenset({"params", "initial", "spike_times", "size"})


class NetworkDraft:
    """The description while the script builds it and changes it.

    Objects are frozen; a change replaces an object (``replace``). A draft
    hands out serial numbers that key the random values of successive
    changes (``next_serial``), and freezes into a new :class:`NetworkSpec`
    version when something changed since the last freeze.
    """

    _GROUPS = ("populations", "projections", "current_sources")

    def __init__(self, dt_ms: float = 0.1, seed: int = 0):
        self.dt_ms = float(dt_ms)
        self.seed = int(seed)
        self.populations: list = []
        self.projections: list = []
        self.current_sources: list = []
        self.fuse_sources = True
        self._serials: dict = {}
        self._version = 0
        self._frozen: NetworkSpec | None = None

    def add(self, group: str, spec) -> None:
        items = getattr(self, group)
        if spec.id != len(items):
            raise ValueError(f"{group} id {spec.id} out of order (expected {len(items)})")
        check_spec(group, spec, self.dt_ms)        # spinn.validation: bad values stop here
        items.append(spec)
        self._frozen = None

    def replace(self, group: str, index: int, **changes):
        """Replace object ``index`` of ``group`` by a copy with ``changes``; returns it."""
        items = getattr(self, group)
        new = dataclasses.replace(items[index], **changes)
        if _VALUES.intersection(changes):
            check_spec(group, new, self.dt_ms)
        items[index] = new
        self._frozen = None
        return new

    def discard(self, group: str, index: int) -> None:
        """Drop object ``index`` and every later one of ``group`` (a creation
        that failed half way, before anything was built from it)."""
        del getattr(self, group)[index:]
        self._frozen = None

    def set_seed(self, seed: int) -> None:
        self.seed = int(seed)
        self._frozen = None

    def next_serial(self, *coordinates) -> int:
        """0, 1, 2, ... for successive calls with the same coordinates."""
        n = self._serials.get(coordinates, 0)
        self._serials[coordinates] = n + 1
        return n

    def freeze(self) -> NetworkSpec:
        """The current description as a frozen spec (the same object until a change)."""
        if self._frozen is None:
            self._version += 1
            self._frozen = NetworkSpec(
                dt_ms=self.dt_ms, seed=self.seed, version=self._version,
                populations=tuple(self.populations), projections=tuple(self.projections),
                current_sources=tuple(self.current_sources), fuse_sources=self.fuse_sources)
        return self._frozen

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)


# -- what changed between two versions -----------------------------------------------

@dataclass
class Changes:
    """The differences between two versions of one network that the ranks apply.

    ``params``/``spike_times``: ids of populations whose parameters (spike
    times) changed; ``initial``: population id -> state variables given new
    values (``initialize()``); ``record``: some recording request changed;
    ``updated``: ``(projection id, attribute)`` of new ``Projection.set``
    calls, in order; ``current_sources``: a current source changed;
    ``grown``: populations or projections were added (the network is mapped
    and built again, its state carried over).
    """
    params: set = field(default_factory=set)
    spike_times: set = field(default_factory=set)
    initial: dict = field(default_factory=dict)
    record: bool = False
    updated: list = field(default_factory=list)
    new_updates: dict = field(default_factory=dict)
    current_sources: bool = False
    grown: bool = False

    def touches_images(self) -> bool:
        return bool(self.params or self.spike_times or self.initial or self.updated)


def _same(a, b) -> bool:
    if a is b:
        return True
    if is_homogeneous(a) and is_homogeneous(b):
        return float(a) == float(b)
    return False


def _changed_keys(old, new) -> set:
    return {k for k in set(old) | set(new)
            if k not in old or k not in new or not _same(old[k], new[k])}


_POPULATION_FIXED = ("label", "size", "model", "first_gid", "max_atoms_per_core", "positions",
                     "seed")
_PROJECTION_FIXED = ("pre", "post", "pre_populations", "post_populations", "connector", "seed",
                     "weight", "delay", "receptor", "receptor_name", "weight_sign",
                     "plasticity", "short_term", "space")


def changes_between(old: NetworkSpec, new: NetworkSpec) -> Changes:
    """What the ranks must apply to go from ``old`` to ``new``.

    Raises
    ------
    SimulationStateError
        ``new`` removes populations or projections, or changes what a built
        network cannot change (sizes, connectors, synapse types). Added ones
        are fine (``grown``).
    """
    changes = Changes()
    if (len(new.populations) < len(old.populations)
            or len(new.projections) < len(old.projections)):
        raise SimulationStateError("populations and projections cannot be removed from a "
                                   "built network; call setup() again")
    if (len(new.populations) > len(old.populations)
            or len(new.projections) > len(old.projections)):
        changes.grown = True        # mapped again at the next run (state carried over)
    if (new.dt_ms, new.seed, new.fuse_sources) != (old.dt_ms, old.seed, old.fuse_sources):
        raise SimulationStateError("the timestep, seed and options cannot change after the "
                                   "network was built; call setup() again")
    for a, b in zip(old.populations, new.populations):
        if a is b:
            continue
        for name in _POPULATION_FIXED:
            if name == "positions" and a.positions is None:
                continue    # given when a projection first needs them: not a change
            if not _same(getattr(a, name), getattr(b, name)):
                raise SimulationStateError(f"{b.describe()}: {name} cannot change after the "
                                           "network was built")
        if _changed_keys(a.params, b.params):
            changes.params.add(b.id)
        if a.spike_times is not b.spike_times:
            changes.spike_times.add(b.id)
        initial = _changed_keys(a.initial, b.initial)
        if initial:
            changes.initial[b.id] = initial
        if _changed_keys(a.record, b.record):
            changes.record = True
    for a, b in zip(old.projections, new.projections):
        if a is b:
            continue
        for name in _PROJECTION_FIXED:
            if name == "space" and a.space is None:
                continue    # given by a later set(<attribute>=<function of distance>)
            if getattr(a, name) is not getattr(b, name) and not _same(getattr(a, name),
                                                                      getattr(b, name)):
                raise SimulationStateError(f"{b.describe()}: {name} cannot change after the "
                                           "network was built")
        added = b.updates[len(a.updates):]
        if any(x is not y for x, y in zip(a.updates, b.updates)):
            raise SimulationStateError(f"{b.describe()}: earlier Projection.set calls changed")
        if added:
            changes.new_updates[b.id] = added
            changes.updated.extend((b.id, u.attribute) for u in added)
    if old.current_sources != new.current_sources:
        changes.current_sources = True
    return changes
