"""Connectors: frozen descriptions that generate a projection's synapses per
post block, on the rank that owns the targets (see :mod:`.base` for the
protocol)."""
from .base import (SYNAPSE_BLOCK, Block, Connector, Geometry, Streams, block_range,  # noqa: F401
                   blocks_of, empty_block)
from .basic import AllToAll, Array, FromList, OneToOne  # noqa: F401
from .probabilistic import FixedNumberPre, FixedProbability  # noqa: F401
from .clone import Clone  # noqa: F401
from .fixed_number import FixedNumberPost, FixedTotalNumber  # noqa: F401
from .spatial import (DisplacementDependentProbability, DistanceDependentProbability,  # noqa: F401
                      DistanceExpression, IndexBased)
