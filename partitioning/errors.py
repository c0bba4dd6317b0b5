"""Errors raised by the partitioning stages.

One root (:class:`PartitioningError`). :class:`UnfeasibleError` also derives
from :class:`ValueError`, so ``except ValueError`` catches inputs that cannot be
mapped. Messages name the vertex (its label), the offending value, and what to
change.
"""


class PartitioningError(Exception):
    """Root of every error the partitioning stages raise.

    Raised as such by the ``check_*`` functions when an invariant is broken:
    that is a bug in a stage (or a corrupted input), not a user error.
    """


class UnfeasibleError(PartitioningError, ValueError):
    """The input cannot be mapped as given.

    A value is out of range (a vertex with no atoms, a rank count below one,
    an edge naming a vertex that does not exist) or the network does not fit
    (the 32-bit key space is too small for the number and size of slices).
    """
