"""Errors raised by spinn's engine.

One root (:class:`SpinnError`); subclasses also derive from the builtin whose
meaning fits, so ``except ValueError`` works for bad values. Messages name the
population or projection, the offending value, and what to change.
"""


class SpinnError(Exception):
    """Root of every error the spinn engine raises."""


class NetworkError(SpinnError, ValueError):
    """The network description is invalid (bad parameter, delay, weight ...)."""


class SimulationStateError(SpinnError, RuntimeError):
    """A call came at the wrong time (e.g. ``run()`` before ``setup()``)."""


class RankError(SpinnError, RuntimeError):
    """Another rank failed; raised on every rank so none is left waiting."""


class ResourceError(SpinnError, MemoryError):
    """The network does not fit the memory of its ranks (refused before
    anything is generated; the message names the largest contributors and
    what would fit)."""
