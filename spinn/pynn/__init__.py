"""spinn's PyNN backend layer (subclasses of ``pyNN.common``).

Everything PyNN-specific lives here; it translates populations and
projections into the engine's :mod:`spinn.network` records.
"""
