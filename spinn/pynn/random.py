"""``sim.NativeRNG``: PyNN's "the simulator's own generator", which in spinn is
its keyed counter-based streams (:mod:`spinn.rng`).

A connector or a RandomDistribution given a NativeRNG draws as with any
seeded generator in spinn: from streams keyed by the NativeRNG's seed (the
network seed when it has none) and the model coordinates of what is drawn,
generated on the ranks that hold the synapses or neurons, so the values do
not depend on the number of MPI ranks. They differ from a NumpyRNG's with
the same seed (and from other simulators' native generators), as PyNN says
native generators may.

Drawing from it directly (``rng.next(5)``, ``RandomDistribution(...,
rng=native).next(5)``) gives numbers from the stream too, call after call,
the same on every process (scripts run the same calls everywhere).
"""
from __future__ import annotations

from pyNN import random as pynn_random

from ..rng import draw, keyed_generator, stream_key
from .simulator import state

#: stream kind of a NativeRNG's direct draws
_NATIVE = 0x4E52


class NativeRNG(pynn_random.NativeRNG):
    __doc__ = pynn_random.NativeRNG.__doc__

    def __init__(self, seed=None):
        super().__init__(seed)
        self.parallel_safe = True
        self._calls = 0

    def _generator(self):
        seed = state.network.seed if self.seed is None else self.seed
        generator = keyed_generator(int(stream_key(int(seed), _NATIVE)), self._calls)
        self._calls += 1
        return generator

    def next(self, n=None, distribution=None, parameters=None, mask=None):
        """``n`` numbers of ``distribution`` (PyNN's names; uniform on [0, 1)
        by default); one float when ``n`` is None."""
        if n is not None and n < 0:
            raise ValueError(f"NativeRNG.next: cannot draw n={n} numbers")
        size = 1 if n is None else int(n)
        if distribution is None:
            distribution, parameters = "uniform", {"low": 0.0, "high": 1.0}
        values = draw(self._generator(), distribution, dict(parameters or {}), size)
        if mask is not None:
            values = values[mask]
        return float(values[0]) if n is None else values

    def permutation(self, arr):
        return self._generator().permutation(arr)
