"""sPyNNaker's Projection: positive weights on the inhibitory receptor of
current-based cells.

In sPyNNaker the receptor makes a synapse inhibitory, so weights are given
(and read back) positive; standard PyNN, and spinn's standard API, want
negative weights there. This Projection negates such weights on the way in
(the synapse type and a connection list are copied, never changed) and
negates them back in ``get``/``set``, so the script sees its own numbers.
"""
from __future__ import annotations

import copy
import logging

import numpy as np
from lazyarray import larray
from pyNN import connectors
from pyNN.random import RandomDistribution
from pyNN.space import Space

from spinn.errors import NetworkError
from spinn.pynn import projections as _projections

logger = logging.getLogger("spinn.compat")


def _negated_distribution(d: RandomDistribution):
    """The distribution of ``-X`` for ``X ~ d``, where PyNN can name it."""
    p = dict(d.parameters)
    if d.name == "uniform":
        return RandomDistribution("uniform", low=-p["high"], high=-p["low"], rng=d.rng)
    if d.name == "normal":
        return RandomDistribution("normal", mu=-p["mu"], sigma=p["sigma"], rng=d.rng)
    if d.name in ("normal_clipped", "normal_clipped_to_boundary"):
        return RandomDistribution(d.name, mu=-p["mu"], sigma=p["sigma"], low=-p["high"],
                                  high=-p["low"], rng=d.rng)
    return None


def negated(value):
    """``-value`` for a weight as PyNN holds it (number, array, lazyarray,
    RandomDistribution), keeping it in a form spinn generates natively
    where it can."""
    if isinstance(value, RandomDistribution):
        found = _negated_distribution(value)
        return found if found is not None else -larray(value)
    if isinstance(value, larray):
        base = value.base_value
        if not value.operations:
            if isinstance(base, RandomDistribution):
                found = _negated_distribution(base)
                if found is not None:
                    return larray(found, shape=value.shape)
            elif isinstance(base, (int, float, np.integer, np.floating)):
                return larray(-float(base), shape=value.shape)
            elif isinstance(base, np.ndarray):
                return larray(-base, shape=value.shape)
        return -value
    if isinstance(value, np.ndarray):
        return -value
    return -value


def _known_sign(value):
    """+1 (all >= 0), -1 (all <= 0, some < 0), 0 (mixed) or None (not known
    before generation: random, expressions)."""
    if isinstance(value, larray):
        if value.operations or not isinstance(value.base_value,
                                              (int, float, np.integer, np.floating, np.ndarray)):
            return None
        value = value.base_value
    if isinstance(value, RandomDistribution):
        return None
    try:
        w = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    if w.size == 0 or (w >= 0).all():
        return 1
    if (w <= 0).all():
        return -1
    return 0


class Projection(_projections.Projection):
    __doc__ = _projections.Projection.__doc__

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(),
                 label=None, download_synapses=False, partition_id=None):
        space = Space() if space is None else space         # sPyNNaker's default is None
        self._flip = (receptor_type == "inhibitory"
                      and not getattr(postsynaptic_population, "conductance_based", True))
        if self._flip:
            synapse_type, connector = self._positive_inhibition(synapse_type, connector, label)
        super().__init__(presynaptic_population, postsynaptic_population, connector,
                         synapse_type, source, receptor_type, space, label)

    def _positive_inhibition(self, synapse_type, connector, label):
        """Copies of the synapse type and connector with the weights negated,
        unless they are given negative already (standard PyNN)."""
        if synapse_type is None:
            synapse_type = self._static_synapse_class()
        weight = synapse_type.parameter_space["weight"]
        listed = (isinstance(connector, connectors.FromListConnector)
                  and "weight" in connector.column_names)
        if listed:
            column = 2 + list(connector.column_names).index("weight")
            weight = connector.conn_list[:, column] if len(connector.conn_list) else \
                np.zeros(0)
        sign = _known_sign(weight)
        if sign == 0:
            raise NetworkError(
                f"Projection '{label}': inhibitory weights onto a current-based cell have "
                "mixed signs; sPyNNaker's convention is positive weights (the receptor "
                "makes them inhibitory)")
        if sign == -1:
            logger.info("Projection %r: negative inhibitory weights taken as given (standard "
                        "PyNN convention)", label)
            self._flip = False
            return synapse_type, connector
        if listed:
            connector = copy.copy(connector)
            connector.conn_list = np.array(connector.conn_list, dtype=float)
            connector.conn_list[:, column] *= -1.0
            return synapse_type, connector
        synapse_type = copy.copy(synapse_type)
        ps = copy.copy(synapse_type.parameter_space)
        ps._parameters = dict(ps._parameters)
        ps._parameters["weight"] = negated(ps._parameters["weight"])
        synapse_type.parameter_space = ps
        return synapse_type, connector

    def _get_attributes_as_list(self, names):
        rows = super()._get_attributes_as_list(names)
        if not self._flip or "weight" not in names:
            return rows
        i = list(names).index("weight")
        return [row[:i] + (-row[i],) + row[i + 1:] for row in rows]

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        out = super()._get_attributes_as_arrays(names, multiple_synapses)
        if self._flip:
            out = [-a if n.rstrip("s") == "weight" else a for n, a in zip(names, out)]
        return out

    def _set_attributes(self, parameter_space):
        if self._flip and "weight" in parameter_space.keys():
            parameter_space = copy.copy(parameter_space)
            parameter_space._parameters = dict(parameter_space._parameters)
            parameter_space._parameters["weight"] = negated(parameter_space["weight"])
        return super()._set_attributes(parameter_space)
