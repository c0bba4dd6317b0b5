"""A projection with the same synapses as another one."""
from __future__ import annotations

from dataclasses import dataclass

from .base import Block, Connector, Geometry, Streams

__all__ = ["Clone"]


@dataclass(frozen=True, init=False)
class Clone(Connector):
    """The (pre, post) pattern of a reference projection (PyNN's ``CloneConnector``).

    Parameters
    ----------
    reference : Connector
        the reference projection's connector.
    reference_seed, reference_projection_id : int
        the reference projection's seed and id, which key its streams:
        generating with ``Streams(reference_seed, reference_projection_id)``
        gives exactly the reference's synapses, block by block, on any rank.

    Both projections must join the same pre and post neurons (PyNN checks
    it). Repeated pairs of the reference are repeated here too. The
    reference's own ``allow_self_connections`` applies; weights and delays
    are the clone's own (a listed reference's columns are not inherited).
    """
    reference: Connector = None
    reference_seed: int = 0
    reference_projection_id: int = 0

    def __init__(self, reference: Connector, reference_seed: int, reference_projection_id: int):
        if not isinstance(reference, Connector):
            raise TypeError(f"Clone needs the reference projection's engine connector, "
                            f"got {type(reference).__name__}")
        object.__setattr__(self, "reference", reference)
        object.__setattr__(self, "reference_seed", int(reference_seed))
        object.__setattr__(self, "reference_projection_id", int(reference_projection_id))
        object.__setattr__(self, "allow_self_connections", reference.allow_self_connections)

    @property
    def reference_streams(self) -> Streams:
        return Streams(self.reference_seed, self.reference_projection_id)

    def generate(self, geometry: Geometry, lo: int, hi: int, streams: Streams) -> Block:
        block = self.reference.generate(geometry, lo, hi, self.reference_streams)
        return Block(block.pre, block.post)

    def expected_synapses(self, geometry: Geometry) -> float:
        return self.reference.expected_synapses(geometry)

    def footprint(self, geometry: Geometry, lo: int, hi: int):
        return self.reference.footprint(geometry, lo, hi)

    def excludes_self(self, geometry: Geometry) -> bool:
        return self.reference.excludes_self(geometry)
