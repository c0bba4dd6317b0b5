"""Projection for the spinn backend: a description, expanded at the first run().

``Projection.__init__`` never calls the connector. It records a
:class:`~spinn.network.ProjectionSpec`; at the first ``run()`` (or the first
query such as ``len(prj)`` or ``prj.get(...)``, which trigger the build on
every process) each rank generates only the synapses that end on its own
neurons.
"""
from __future__ import annotations

import numpy as np
from lazyarray import larray
from pyNN import common, connectors, errors
from pyNN.random import RandomDistribution
from pyNN.space import Space

from ..errors import NetworkError, SimulationStateError
from ..network import ConnectorSpec, GidRange, ProjectionSpec, ValueSpec
from ..rng import stream_key
from . import simulator
from .populations import Assembly, LazyIDs
from .simulator import state
from .standardmodels import StaticSynapse
from .synapses import (STDPMechanism, TsodyksMarkramSynapse, plasticity_spec,
                       short_term_spec)


class Connection(common.Connection):
    """One synapse, as PyNN's ``Projection.connections`` yields it."""

    def __init__(self, pre, post, weight, delay):
        self.presynaptic_index = int(pre)
        self.postsynaptic_index = int(post)
        self.weight = float(weight)
        self.delay = float(delay)

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
    projection falls back to PyNN's own connector code (see
    ``Projection._generic_synapses``)."""


def _rng_seed(rng, projection_id):
    seed = getattr(rng, "seed", None) if rng is not None else None
    if seed is None:
        return int(stream_key(state.network.seed, 0xC0FFEE, projection_id))
    return int(seed)


def _value_spec(name, value, label):
    """A synapse parameter (lazyarray) as the engine's ValueSpec."""
    if isinstance(value, larray):
        base = value.base_value
        if isinstance(base, RandomDistribution):
            if value.operations:
                raise _NoNativeGenerator(
                    f"Projection '{label}': arithmetic on a RandomDistribution {name} has no "
                    "native generator; give the distribution its final parameters")
            return ValueSpec("distribution", (base.name, dict(base.parameters)))
        if value.is_homogeneous:
            v = value.evaluate(simplify=True)
            return ValueSpec("scalar", float(v))
        if isinstance(base, np.ndarray) and not value.operations:
            return ValueSpec("array", np.asarray(base, dtype=float))
        raise _NoNativeGenerator(
            f"Projection '{label}': {name} given as {type(base).__name__} has no native "
            "generator; use a number, a RandomDistribution or an (n_pre, n_post) array")
    return ValueSpec("scalar", float(value))


def _connector_spec(connector, projection_id, label, n_pre, n_post):
    allow_self = getattr(connector, "allow_self_connections", True)
    seed = _rng_seed(getattr(connector, "rng", None), projection_id)
    C = connectors
    if isinstance(connector, C.AllToAllConnector):
        return ConnectorSpec("all_to_all", {}, allow_self, seed)
    if isinstance(connector, C.OneToOneConnector):
        if n_pre != n_post:
            raise errors.ConnectionError(
                f"Projection '{label}': OneToOneConnector needs pre and post of the same "
                f"size, got {n_pre} and {n_post}")
        return ConnectorSpec("one_to_one", {}, True, seed)
    if isinstance(connector, C.FixedProbabilityConnector):
        p = float(connector.p_connect)
        if not 0.0 <= p <= 1.0:
            raise errors.ConnectionError(
                f"Projection '{label}': p_connect={p} is not a probability")
        return ConnectorSpec("fixed_probability", {"p_connect": p}, allow_self, seed)
    if isinstance(connector, (C.FixedNumberPreConnector, C.FixedNumberPostConnector)):
        n = connector.n
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise errors.ConnectionError(
                f"Projection '{label}': {type(connector).__name__} n={n!r} must be a "
                "non-negative int")
        kind = ("fixed_number_pre" if isinstance(connector, C.FixedNumberPreConnector)
                else "fixed_number_post")
        return ConnectorSpec(kind, {"n": int(n), "with_replacement": connector.with_replacement},
                             allow_self, seed)
    if isinstance(connector, C.FromListConnector):
        conn = np.asarray(connector.conn_list, dtype=float).reshape(-1, 2 + len(
            connector.column_names))
        if conn.size and (conn[:, 0].min() < 0 or conn[:, 0].max() >= n_pre
                          or conn[:, 1].min() < 0 or conn[:, 1].max() >= n_post):
            raise errors.ConnectionError(
                f"Projection '{label}': FromListConnector has indices outside the "
                f"populations (pre size {n_pre}, post size {n_post})")
        params = {"conn_list": conn}
        for i, name in enumerate(connector.column_names):
            params[f"{name}_column"] = 2 + i
        return ConnectorSpec("from_list", params, True, seed)
    raise _NoNativeGenerator(
        f"Projection '{label}': {type(connector).__name__} has no native generator "
        "(native: AllToAll, OneToOne, FixedProbability, FixedNumberPre, FixedNumberPost, "
        "FromList)")


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(),
                 label=None):
        state.require_setup("Projection()")
        sim = state.simulation
        if sim is not None and sim.built:
            raise SimulationStateError(
                "cannot create a Projection after the first run(): the network is mapped "
                "at the first run(); create every projection before it")
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source, receptor_type, space,
                                   label)
        if self.label is None:
            self.label = f"projection{len(state.projections)}"
        plasticity = short_term = None
        if isinstance(self.synapse_type, STDPMechanism):
            plasticity = plasticity_spec(self.synapse_type, self.label)
        elif isinstance(self.synapse_type, TsodyksMarkramSynapse):
            short_term = short_term_spec(self.synapse_type, self.label)
        elif not isinstance(self.synapse_type, StaticSynapse):
            raise NotImplementedError(
                f"Projection '{self.label}': synapse type {type(self.synapse_type).__name__} "
                "is not available in spinn yet (StaticSynapse, STDPMechanism)")
        pid = len(state.network.projections)
        n_pre, n_post = self.pre.size, self.post.size
        self._generic_cache = None
        try:
            conn = _connector_spec(connector, pid, self.label, n_pre, n_post)
            ps = self.synapse_type.native_parameters
            ps.shape = (n_pre, n_post)
            weight = _value_spec("weight", ps["weight"], self.label)
            delay = _value_spec("delay", ps["delay"], self.label)
        except _NoNativeGenerator:
            # PyNN's own connector code, run once per process when first needed;
            # each rank keeps the synapses that end on its neurons
            conn = ConnectorSpec("callback", {"generate": self._generic_synapses})
            weight = delay = ValueSpec("list", None)
        if conn.kind == "from_list":
            if "weight_column" in conn.params:
                weight = ValueSpec("list", None)
            if "delay_column" in conn.params:
                delay = ValueSpec("list", None)
        post_cb = not self.post.conductance_based
        if self.receptor_type == "excitatory":
            sign, receptor = 1, 0
        elif self.receptor_type == "inhibitory":
            sign, receptor = (-1 if post_cb else 1), 1
        else:
            raise errors.ConnectionError(
                f"Projection '{self.label}': receptor type {self.receptor_type!r} is not "
                "supported; use 'excitatory' or 'inhibitory'")
        self._spec = ProjectionSpec(
            id=pid, label=self.label, pre_gids=_cell_gids(self.pre),
            post_gids=_cell_gids(self.post), pre_populations=_populations_of(self.pre),
            post_populations=_populations_of(self.post), connector=conn, weight=weight,
            delay=delay, receptor=receptor, receptor_name=self.receptor_type,
            weight_sign=sign, plasticity=plasticity, short_term=short_term)
        if plasticity is not None and sign < 0:
            raise NotImplementedError(
                f"Projection '{self.label}': plastic inhibitory synapses onto current-based "
                "cells (negative weights) are not supported yet")
        self._check_scalar_values()
        state.network.projections.append(self._spec)
        state.projections.append(self)

    def _generic_synapses(self, wanted_post):
        """Synapses ending on ``wanted_post`` from PyNN's generic connector code.

        The connector runs over all targets, once per process (its random
        stream is consumed in the same way on every process and for every
        number of ranks), and the result is kept; every rank of the process
        takes its own targets from it. Costs the whole projection per process:
        the price of connectors without a native generator.
        """
        if self._generic_cache is None:
            self._collected = []
            self._connector.connect(self)
            parts = self._collected or [(np.zeros(0, np.int64), np.zeros(0, np.int64),
                                         np.zeros(0), np.zeros(0))]
            pre, post, w, d = (np.concatenate(x) for x in zip(*parts))
            order = np.lexsort((pre, post))
            self._generic_cache = (pre[order], post[order], w[order], d[order])
            del self._collected
        pre, post, w, d = self._generic_cache
        keep = np.isin(post, wanted_post)
        return pre[keep], post[keep], w[keep], d[keep]

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        """Called by PyNN's connectors (generic path only), once per target."""
        if location_selector is not None:
            raise NotImplementedError(f"Projection '{self.label}': spinn has no "
                                      "multicompartment cells")
        pre = np.atleast_1d(np.asarray(presynaptic_indices, dtype=np.int64))
        n = pre.size

        def column(name, default):
            value = connection_parameters.get(name, default)
            return np.broadcast_to(np.asarray(value, dtype=float), (n,)).astype(float)
        self._collected.append((pre, np.full(n, int(postsynaptic_index), dtype=np.int64),
                                column("weight", 0.0),
                                column("delay", self.synapse_type._get_minimum_delay())))

    def _check_scalar_values(self):
        """Scalar weights and delays are checked now, not at run()."""
        from ..runtime import check_synapses
        spec = self._spec
        w = np.array([spec.weight.value]) if spec.weight.kind == "scalar" else np.zeros(0)
        d = np.array([spec.delay.value]) if spec.delay.kind == "scalar" else np.zeros(0)
        check_synapses(spec, w, d, state.dt)

    # -- queries (collective: every process must make them) ----------------------
    def _simulation(self):
        sim = state.ensure_simulation()
        sim.build()
        return sim

    def __len__(self):
        return self._simulation().count_connections(self._spec.id)

    def size(self, gather=True):
        return len(self)

    def _gathered(self):
        return self._simulation().gather_connections(self._spec.id)

    @property
    def connections(self):
        pre, post, w, d = self._gathered()
        return [Connection(*row) for row in zip(pre, post, w, d)]

    def __getitem__(self, i):
        return self.connections[i]

    def _get_attributes_as_list(self, names):
        pre, post, w, d = self._gathered()
        columns = {"presynaptic_index": pre, "postsynaptic_index": post,
                   "weight": w, "delay": d, **self._constant_columns(pre.size)}
        try:
            arrays = [columns[n] for n in names]
        except KeyError as exc:
            raise errors.NonExistentParameterError(str(exc), type(self.synapse_type).__name__,
                                                   ["weight", "delay"]) from None
        cast = [int if n.endswith("synaptic_index") else float for n in names]
        return [tuple(c(v) for c, v in zip(cast, row)) for row in zip(*arrays)]

    def _constant_columns(self, n):
        """Synapse-type parameters that are the same for every synapse (the
        STDP rule's, Tsodyks-Markram's U, tau_rec, tau_facil)."""
        spec = self._spec
        rule = spec.short_term or spec.plasticity
        if rule is None:
            return {}
        values = dict(vars(rule))
        values.update(values.pop("params", {}))
        return {k: np.full(n, float(v)) for k, v in values.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)}

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        pre, post, w, d = self._gathered()
        columns = {"weight": w, "delay": d, **self._constant_columns(pre.size)}
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

    def _set_attributes(self, parameter_space):
        """``set(weight=...)``/``set(delay=...)``: numbers, RandomDistributions or
        (n_pre, n_post) arrays; applied on the ranks that hold the synapses."""
        sim = self._simulation()
        for name, value in parameter_space.items():
            if name not in ("weight", "delay"):
                raise NotImplementedError(
                    f"Projection '{self.label}': setting {name!r} is not supported; "
                    "only weight and delay can be changed")
            try:
                spec = _value_spec(name, value, self.label)
            except _NoNativeGenerator as exc:
                raise NetworkError(f"{exc}; Projection.set() accepts only those") from None
            sim.set_synapse_values(self._spec.id, name, spec)
