"""Read a run's output directory without running anything again: see
:mod:`spinn.pynn.offline` (neo Blocks, as ``get_data()`` gives them)."""
from .pynn.offline import OutputError, read, read_raw  # noqa: F401

__all__ = ["read", "read_raw", "OutputError"]
