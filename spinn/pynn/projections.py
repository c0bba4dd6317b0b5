"""Projection for the spinn backend: a frozen description, expanded at the first run().

``Projection.__init__`` never generates synapses. It records a
:class:`~spinn.network.ProjectionSpec` whose connector is one of
:mod:`spinn.connectors` (a frozen description) and whose weights and delays
are numbers, arrays, keyed random values, listed columns or distance
expressions; at the first ``run()`` (or the first query such as
``len(prj)`` or ``prj.get(...)``, which build the network on every process)
each rank generates only the synapses that end on its own neurons. A
connector without a native generator runs PyNN's own code once, here, and
becomes a connection list (with a warning naming the projection).
``Projection.set`` appends an update to the description.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import replace

import numpy as np
from lazyarray import larray
from pyNN import common, connectors, errors
from pyNN.random import NumpyRNG, RandomDistribution
from pyNN.space import Space

from .. import connectors as native
from ..errors import NetworkError, SimulationStateError
from ..network import GidRange, ProjectionSpec, SynapseUpdate
from ..rng import name_code, stream_key
from ..synapses import check_synapses
from ..values import Listed, is_homogeneous
from . import simulator
from .populations import Assembly, LazyIDs
from .simulator import state
from .standardmodels import StaticSynapse, receptor_index
from ..shortterm import INITIAL, MODELS, check_spec
from .synapses import STDPMechanism, ShortTermSynapse, plasticity_spec, short_term_spec
from .values import SYNAPSE, SYNAPSE_SET, checked_random_value, is_random, random_value

logger = logging.getLogger(__name__)

#: stream kind of the seeds handed to PyNN's own connector code
_GENERIC = 0x6E4E


class Connection(common.Connection):
    """One synapse, as PyNN's ``Projection.connections`` yields it."""

    def __init__(self, pre, post, weight, delay, projection=None):
        object.__setattr__(self, "presynaptic_index", int(pre))
        object.__setattr__(self, "postsynaptic_index", int(post))
        object.__setattr__(self, "weight", float(weight))
        object.__setattr__(self, "delay", float(delay))
        object.__setattr__(self, "_projection", projection)

    def __setattr__(self, name, value):
        """``connection.weight = w`` / ``connection.delay = d`` changes the synapse in
        its projection, through ``Projection.set`` with an (n_pre, n_post) array that
        holds the current values and the new one (collective, like ``set``). Several
        synapses between the same two cells all take the new value."""
        if name in ("weight", "delay") and self._projection is not None:
            values = self._projection.get(name, format="array", gather=True,
                                          multiple_synapses="last")
            values[self.presynaptic_index, self.postsynaptic_index] = value
            self._projection.set(**{name: values})
        object.__setattr__(self, name, float(value) if name in ("weight", "delay")
                           else value)

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


def _cell_gids(cells):
    """Global ids of a Population, PopulationView or Assembly, in index order
    (a :class:`~spinn.network.GidRange`, free of per-neuron work, for a whole
    Population)."""
    if isinstance(cells.all_cells, LazyIDs):
        return GidRange(cells.all_cells.first, cells.size)
    return np.fromiter((int(c) for c in cells.all_cells), dtype=np.int64, count=cells.size)


def _populations_of(cells):
    if isinstance(cells, Assembly):
        return tuple(p.grandparent._spec.id if hasattr(p, "grandparent") else p._spec.id
                     for p in cells.populations)
    root = cells.grandparent if hasattr(cells, "grandparent") else cells
    return (root._spec.id,)


class _NoNativeGenerator(Exception):
    """The engine has no generator for this connector or value form: the
    projection falls back to PyNN's own connector code."""


def _connector_seed(connector) -> int:
    """The seed of a connector's streams: its rng's, or the network seed."""
    rng = getattr(connector, "rng", None)
    seed = getattr(rng, "seed", None) if rng is not None else None
    return int(state.network.seed if seed is None else seed)


def _connection_list(connector):
    """(rows, column names) of a FromListConnector, or of a FromFileConnector read
    from its file (which PyNN only does in ``connect``; its list and column names
    exist only then): the columns from the file's ``# columns = [...]`` header, else
    weight and delay, less ``i`` and ``j``."""
    if not isinstance(connector, connectors.FromFileConnector):
        return connector.conn_list, connector.column_names
    if connector.distributed:
        raise _NoNativeGenerator("FromFileConnector(distributed=True): each rank has "
                                 "its own file")
    columns = connector.file.get_metadata().get("columns", ("weight", "delay"))
    column_names = tuple(name for name in columns if name not in ("i", "j"))
    conn_list = connector.file.read()
    connector.file.fileobj.seek(0)  # readable again (e.g. by another projection)
    return conn_list, column_names


def _native_connector(connector, label, n_pre, n_post):
    """A PyNN connector as an engine connector (or _NoNativeGenerator)."""
    C = connectors
    allow_self = getattr(connector, "allow_self_connections", True)
    if allow_self not in (True, False):
        raise _NoNativeGenerator(f"allow_self_connections={allow_self!r}")
    allow_self = bool(allow_self)
    if isinstance(connector, C.AllToAllConnector):
        return native.AllToAll(allow_self_connections=allow_self)
    if isinstance(connector, C.OneToOneConnector):
        if n_pre != n_post:
            raise errors.ConnectionError(
                f"Projection '{label}': OneToOneConnector needs pre and post of the same "
                f"size, got {n_pre} and {n_post}")
        return native.OneToOne()
    if isinstance(connector, C.FixedProbabilityConnector):
        p = float(connector.p_connect)
        if not 0.0 <= p <= 1.0:
            raise errors.ConnectionError(
                f"Projection '{label}': p_connect={p} is not a probability")
        return native.FixedProbability(allow_self_connections=allow_self, p_connect=p)
    if isinstance(connector, C.FixedNumberPreConnector):
        n = connector.n
        if isinstance(n, RandomDistribution):
            raise _NoNativeGenerator("FixedNumberPreConnector with a random n has no "
                                     "native generator")
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise errors.ConnectionError(
                f"Projection '{label}': FixedNumberPreConnector n={n!r} must be a "
                "non-negative int")
        return native.FixedNumberPre(allow_self_connections=allow_self, n=int(n),
                                     with_replacement=bool(connector.with_replacement))
    if isinstance(connector, C.FromListConnector):
        conn_list, column_names = _connection_list(connector)
        conn = np.asarray(conn_list, dtype=float).reshape(-1, 2 + len(column_names))
        if conn.size and (conn[:, 0].min() < 0 or conn[:, 0].max() >= n_pre
                          or conn[:, 1].min() < 0 or conn[:, 1].max() >= n_post):
            raise errors.ConnectionError(
                f"Projection '{label}': FromListConnector has indices outside the "
                f"populations (pre size {n_pre}, post size {n_post})")
        columns = {name: conn[:, 2 + i] for i, name in enumerate(column_names)}
        return native.FromList.make(conn[:, 0], conn[:, 1], columns)
    try:
        from .spatial import translate_connector
    except ImportError:
        translate_connector = None
    if translate_connector is not None:
        found = translate_connector(connector, reference_spec_of=_reference_spec_of)
        if found is not None:
            return found
    raise _NoNativeGenerator(f"{type(connector).__name__} has no native generator")


def _reference_spec_of(projection):
    """(connector, seed, id) of a PyNN projection of this simulation (CloneConnector)."""
    spec = projection._spec
    return spec.connector, spec.seed, spec.id


def _synapse_value(name, value, label, coordinates):
    """A synapse parameter (a lazyarray or a number) as an engine synaptic value."""
    if isinstance(value, larray):
        base = value.base_value
        if is_random(value):
            if value.operations:
                raise _NoNativeGenerator(
                    f"arithmetic on a RandomDistribution {name} has no native generator; "
                    "give the distribution its final parameters")
            return checked_random_value(base, f"Projection '{label}'", name, *coordinates)
        if value.is_homogeneous:
            return float(value.evaluate(simplify=True))
        if isinstance(base, np.ndarray) and not value.operations:
            return np.asarray(base, dtype=float)
        if isinstance(base, str) or callable(base):
            try:
                from .spatial import distance_value
            except ImportError:
                distance_value = None
            found = distance_value(base) if distance_value is not None else None
            if found is not None and not value.operations:
                return found
        raise _NoNativeGenerator(
            f"{name} given as {type(base).__name__} has no native generator; use a number, "
            "a RandomDistribution, an (n_pre, n_post) array or a distance expression")
    if isinstance(value, RandomDistribution):
        return checked_random_value(value, f"Projection '{label}'", name, *coordinates)
    return float(value)


def _distinct(gids, side: str, label: str) -> None:
    if isinstance(gids, GidRange):
        return
    if np.unique(gids).size != gids.size:
        raise NetworkError(f"Projection '{label}': the {side} side lists a neuron more than "
                           "once; give each neuron once (use a connector to repeat synapses)")


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(),
                 label=None):
        state.require_setup("Projection()")
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source, receptor_type, space,
                                   label)
        if self.label is None:
            self.label = f"projection{len(state.projections)}"
        plasticity = short_term = None
        short_names = ()
        if isinstance(self.synapse_type, STDPMechanism):
            plasticity = plasticity_spec(self.synapse_type, self.label)
        elif isinstance(self.synapse_type, ShortTermSynapse):
            short_names = MODELS[self.synapse_type.short_term_model]
        elif not isinstance(self.synapse_type, StaticSynapse):
            raise NotImplementedError(
                f"Projection '{self.label}': synapse type {type(self.synapse_type).__name__} "
                "is not available in spinn yet (StaticSynapse, STDPMechanism, "
                "TsodyksMarkramSynapse, StochasticTsodyksMarkramSynapse, "
                "MultiQuantalSynapse, SimpleStochasticSynapse)")
        pid = len(state.network.projections)
        n_pre, n_post = self.pre.size, self.post.size
        pre, post = _cell_gids(self.pre), _cell_gids(self.post)
        _distinct(pre, "pre", self.label)
        _distinct(post, "post", self.label)
        if isinstance(connector, connectors.IndexBasedProbabilityConnector):
            connector.index_expression.projection = self     # as PyNN's connect() does
        if isinstance(connector, connectors.ArrayConnector) and np.shape(
                connector.array) != (n_pre, n_post):
            raise errors.ConnectionError(
                f"Projection '{self.label}': ArrayConnector has shape "
                f"{np.shape(connector.array)}, the projection needs ({n_pre}, {n_post})")
        try:
            engine_connector = _native_connector(connector, self.label, n_pre, n_post)
            ps = self.synapse_type.native_parameters
            ps.shape = (n_pre, n_post)
            values = {name: _synapse_value(name, ps[name], self.label,
                                           (SYNAPSE, pid, name_code(name)))
                      for name in ("weight", "delay") + short_names}
            if isinstance(engine_connector, native.FromList):
                listed = {n for n, _ in engine_connector.columns}
                values.update({name: Listed(name) for name in values if name in listed})
        except _NoNativeGenerator as reason:
            logger.warning("Projection '%s': %s; running PyNN's own connector code once per "
                           "process (slower: the whole projection on every process)",
                           self.label, reason)
            engine_connector = self._generic_connect(pid, short_names)
            values = {name: Listed(name) for name in ("weight", "delay") + short_names}
        weight, delay = values["weight"], values["delay"]
        if short_names:
            short_term = short_term_spec(self.synapse_type, values, state.network.seed,
                                         self.label)
        post_cb = not self.post.conductance_based
        composed = receptor_index(self.post, self.receptor_type, self.label)
        if composed is not None:            # a PointNeuron's named receptor type
            sign, receptor = composed
        elif self.receptor_type == "excitatory":
            sign, receptor = 1, 0
        elif self.receptor_type == "inhibitory":
            sign, receptor = (-1 if post_cb else 1), 1
        else:
            raise errors.ConnectionError(
                f"Projection '{self.label}': receptor type {self.receptor_type!r} is not "
                "supported; use 'excitatory' or 'inhibitory'")
        if plasticity is not None and sign < 0:
            raise NotImplementedError(
                f"Projection '{self.label}': plastic inhibitory synapses onto current-based "
                "cells (negative weights) are not supported yet")
        spatial = self._spatial(engine_connector, *values.values())
        self._spec = ProjectionSpec(
            id=pid, label=self.label, pre=pre, post=post,
            pre_populations=_populations_of(self.pre),
            post_populations=_populations_of(self.post), connector=engine_connector,
            seed=_connector_seed(connector), weight=weight, delay=delay, receptor=receptor,
            receptor_name=self.receptor_type, weight_sign=sign, plasticity=plasticity,
            short_term=short_term, space=spatial)
        w = np.array([weight]) if is_homogeneous(weight) else np.zeros(0)
        d = np.array([delay]) if is_homogeneous(delay) else np.zeros(0)
        check_synapses(self._spec, w, d, state.dt)      # scalars now, the rest at build
        state.network.add("projections", self._spec)
        state.projections.append(self)

    def _spatial(self, connector, *values):
        """The engine's Space, and the populations' positions, for spatial
        connectors and distance-dependent synaptic values (None otherwise)."""
        needs = getattr(connector, "needs_positions", False) or any(
            hasattr(v, "evaluate") for v in values)
        if not needs:
            return None
        from .spatial import space_spec
        for cells in (self.pre, self.post):
            for pop in (cells.populations if isinstance(cells, Assembly) else [cells]):
                root = pop.grandparent if hasattr(pop, "grandparent") else pop
                root._sync_positions()
        return space_spec(self.space)

    def _generic_connect(self, pid: int, short_names=()):
        """PyNN's own connector code, run once, as a connection list.

        Its random numbers come from generators seeded from the network seed
        and the projection (where the script left them unseeded), so every
        process gets the same list.
        """
        def seeded(rng, *coordinates):
            if rng is None or getattr(rng, "seed", None) is not None:
                return rng
            return NumpyRNG(seed=int(stream_key(state.network.seed, _GENERIC, pid,
                                                *coordinates)) & 0x7FFFFFFF)
        # the connector's generator and every unseeded distribution it or the
        # synapse type holds (a random n, random weights ...)
        for i, (name, value) in enumerate(sorted(vars(self._connector).items())):
            if name == "rng":
                self._connector.rng = seeded(value, 0)
            elif isinstance(value, RandomDistribution):
                value.rng = seeded(value.rng, 1, name_code(name))
        for name, value in sorted(self.synapse_type.parameter_space.items()):
            if is_random(value):
                value.base_value.rng = seeded(value.base_value.rng, 2, name_code(name))
        self._collected = []
        self._collect_names = ("weight", "delay") + tuple(short_names)
        self._connector.connect(self)
        names = self._collect_names
        parts = self._collected or [(np.zeros(0, np.int64), np.zeros(0, np.int64))
                                    + tuple(np.zeros(0) for _ in names)]
        del self._collected, self._collect_names
        pre, post, *columns = (np.concatenate(x) for x in zip(*parts))
        return native.FromList.make(pre, post, dict(zip(names, columns)))

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        """Called by PyNN's connectors (generic path only), once per target."""
        if location_selector is not None:
            raise NotImplementedError(f"Projection '{self.label}': spinn has no "
                                      "multicompartment cells")
        pre = np.atleast_1d(np.asarray(presynaptic_indices, dtype=np.int64))
        n = pre.size

        def column(name):
            if name == "delay":
                default = self.synapse_type._get_minimum_delay()
            else:
                default = self.synapse_type.default_parameters.get(name, 0.0)
            value = connection_parameters.get(name, default)
            return np.broadcast_to(np.asarray(value, dtype=float), (n,)).astype(float)
        self._collected.append((pre, np.full(n, int(postsynaptic_index), dtype=np.int64))
                               + tuple(column(name) for name in self._collect_names))

    # -- queries (collective: every process must make them) ----------------------
    def __len__(self):
        return state.built_simulation().count_connections(self._spec.id)

    def size(self, gather=True):
        return len(self)

    def _short_term_names(self) -> tuple:
        rule = self._spec.short_term
        return MODELS[rule.model] if rule is not None else ()

    def _gathered(self, extra=()):
        """``(pre, post, weight, delay)`` of every synapse, then the short-term
        parameters ``extra`` (collective)."""
        return state.built_simulation().gather_connections(self._spec.id, extra=tuple(extra))

    @property
    def connections(self):
        pre, post, w, d = self._gathered()
        return [Connection(*row, projection=self) for row in zip(pre, post, w, d)]

    def __getitem__(self, i):
        return self.connections[i]

    def _columns(self, names):
        """Every synaptic attribute asked for (and the indices) by name."""
        short = self._short_term_names()
        extra = [n for n in short if n in names]
        pre, post, w, d, *values = self._gathered(extra)
        columns = {"presynaptic_index": pre, "postsynaptic_index": post,
                   "weight": w, "delay": d, **self._constant_columns(pre.size)}
        columns.update(zip(extra, values))
        return pre, post, columns

    def _get_attributes_as_list(self, names):
        pre, post, columns = self._columns(names)
        try:
            arrays = [columns[n] for n in names]
        except KeyError as exc:
            raise errors.NonExistentParameterError(
                str(exc), type(self.synapse_type).__name__,
                ["weight", "delay", *self._short_term_names()]) from None
        cast = [int if n.endswith("synaptic_index") else float for n in names]
        return [tuple(c(v) for c, v in zip(cast, row)) for row in zip(*arrays)]

    def _constant_columns(self, n):
        """Synapse-type parameters that are the same for every synapse (the
        STDP rule's)."""
        rule = self._spec.plasticity
        if rule is None:
            return {}
        values = dict(vars(rule))
        values.update(dict(values.pop("params", ())))
        return {k: np.full(n, float(v)) for k, v in values.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)}

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        short = self._short_term_names()
        pre, post, columns = self._columns([n if n in short else n.rstrip("s")
                                            for n in names])
        del columns["presynaptic_index"], columns["postsynaptic_index"]
        out = []
        for name in names:
            key = name if name in columns else name.rstrip("s")
            if key not in columns:
                raise errors.NonExistentParameterError(
                    name, type(self.synapse_type).__name__, sorted(columns))
            values = columns[key]
            arr = np.full((self.pre.size, self.post.size), np.nan)
            if multiple_synapses == "sum":
                flat = pre * self.post.size + post
                uniq, inv = np.unique(flat, return_inverse=True)
                sums = np.bincount(inv, weights=values)
                arr.ravel()[uniq] = sums
            elif multiple_synapses in ("first", "last", "min", "max"):
                op = {"first": None, "last": None, "min": np.fmin, "max": np.fmax}
                if multiple_synapses == "first":
                    arr[pre[::-1], post[::-1]] = values[::-1]
                elif multiple_synapses == "last":
                    arr[pre, post] = values
                else:
                    f = op[multiple_synapses]
                    f.at(arr, (pre, post), values)
            else:
                raise ValueError(f"multiple_synapses={multiple_synapses!r} is not supported")
            out.append(arr)
        return out

    def save(self, attribute_names, file, format="list", gather=True, with_address=True):
        """Write synaptic attributes to a file (collective: every process must
        call it; only MPI rank 0 opens and writes the file)."""
        if state.real_rank == 0:
            return super().save(attribute_names, file, format, gather, with_address)
        if attribute_names in ("all", "connections"):
            attribute_names = self.synapse_type.get_parameter_names()
        self.get(attribute_names, format=format, gather=gather, with_address=with_address)

    def _handle_distance_expressions(self, parameter_space):
        """``set(delay=lambda d: ...)``: PyNN would apply the function to its own lazy
        distance matrix; spinn evaluates functions of distance natively (on the
        engine's positions, on the ranks that hold the synapses), so ``set`` keeps
        them as they are. Index-based expressions, and everything during
        construction, go to PyNN's handling."""
        if not hasattr(self, "_spec"):
            return super()._handle_distance_expressions(parameter_space)
        from pyNN.core import IndexBasedExpression
        distance = False
        for name, value in parameter_space.items():
            base = value.base_value
            if callable(base) and isinstance(base, IndexBasedExpression):
                base.projection = self
            elif callable(base) and not isinstance(base, (RandomDistribution, larray)):
                distance = True     # kept: a function of distance, as the constructor's
        if distance:
            self._give_space()
        return parameter_space

    def _give_space(self):
        """Positions and space for a distance function given to ``set`` of a
        projection made without one."""
        for cells in (self.pre, self.post):
            for pop in (cells.populations if isinstance(cells, Assembly) else [cells]):
                root = pop.grandparent if hasattr(pop, "grandparent") else pop
                root._sync_positions()
        if self._spec.space is None:
            from .spatial import space_spec
            self._spec = state.network.replace("projections", self._spec.id,
                                               space=space_spec(self.space))

    def initialize(self, **initial_values):
        """Initial values of the synapses' short-term state (``u`` of the
        Tsodyks-Markram types, ``a`` and ``u`` of MultiQuantalSynapse), as
        numbers, RandomDistributions, (n_pre, n_post) arrays or functions of
        distance; before the network is built (the first run or query). They
        are the state ``reset()`` returns to."""
        rule = self._spec.short_term
        label = self.label
        if rule is None:
            raise NotImplementedError(
                f"Projection '{label}': {type(self.synapse_type).__name__} synapses have "
                "no state to initialize")
        if state.built:
            raise SimulationStateError(
                f"Projection '{label}': initialize() after the network was built (by a "
                "run or a query) is not supported; call it before the first run")
        given = dict(rule.initial)
        for name, value in initial_values.items():
            if name not in INITIAL[rule.model]:
                raise errors.NonExistentParameterError(
                    name, type(self.synapse_type).__name__, sorted(INITIAL[rule.model]))
            if isinstance(value, larray):
                value = copy.deepcopy(value)
                value.shape = (self.pre.size, self.post.size)
            elif not isinstance(value, RandomDistribution) and not is_homogeneous(value):
                value = larray(value, shape=(self.pre.size, self.post.size))
            serial = state.network.next_serial(SYNAPSE_SET, self._spec.id)
            key = f"initial_{name}"
            try:
                given[name] = _synapse_value(key, value, label,
                                             (SYNAPSE_SET, self._spec.id, name_code(key),
                                              serial))
            except _NoNativeGenerator as exc:
                raise NetworkError(f"Projection '{label}': {exc}") from None
        new = replace(rule, initial=tuple(given.items()))
        check_spec(new, label)
        self._spec = state.network.replace("projections", self._spec.id, short_term=new)

    def _set_attributes(self, parameter_space):
        """``set(weight=...)``/``set(delay=...)``: numbers, RandomDistributions,
        (n_pre, n_post) arrays or distance expressions, appended to the
        projection's description and applied on the ranks that hold the synapses."""
        state.built_simulation()        # errors in the new values show up now
        spec = self._spec
        updates = list(spec.updates)
        settable = ("weight", "delay") + self._short_term_names()
        for name, value in parameter_space.items():
            if name not in settable:
                raise NotImplementedError(
                    f"Projection '{self.label}': setting {name!r} is not supported; "
                    f"{', '.join(settable)} can be changed")
            serial = state.network.next_serial(SYNAPSE_SET, spec.id)
            try:
                engine_value = _synapse_value(name, value, self.label,
                                              (SYNAPSE_SET, spec.id, name_code(name), serial))
            except _NoNativeGenerator as exc:
                raise NetworkError(f"Projection '{self.label}': {exc}; Projection.set() "
                                   "accepts only those") from None
            updates.append(SynapseUpdate(name, engine_value, serial))
        self._spec = state.network.replace("projections", spec.id, updates=tuple(updates))
        try:
            state.sync()
        except NetworkError:
            self._spec = state.network.replace("projections", spec.id, updates=spec.updates)
            raise
