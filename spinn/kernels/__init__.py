"""Compiled inner loops (optional): ``pip install spinn-snn[fast]`` adds numba.

When numba is installed, the hottest loops — the update of the LIF cells,
Poisson sources, the delivery of synaptic rows into the ring buffer — run
as compiled kernels (:mod:`spinn.kernels.numba_kernels`) that perform exactly
the numpy path's floating-point operations in the same order, so results
are bitwise identical either way (the tests run both). ``SPINN_KERNELS=numpy``
forces the numpy path; ``SPINN_KERNELS=numba`` requires the compiled one.
:func:`use` switches for cells built afterwards (the tests do).
"""
from __future__ import annotations

import os

compiled = None


def use(mode: str = "auto"):
    """Choose the kernels for what is built next: ``"numpy"``, ``"numba"`` or
    ``"auto"`` (numba when installed). Returns the compiled module or None."""
    global compiled
    mode = mode.lower()
    if mode not in ("auto", "numpy", "numba"):
        raise ValueError(f"SPINN_KERNELS={mode!r}: use numpy, numba or auto")
    compiled = None
    if mode != "numpy":
        try:
            from . import numba_kernels as module
        except ImportError:
            if mode == "numba":
                raise ImportError("SPINN_KERNELS=numba but numba is not installed: "
                                  "pip install spinn-snn[fast]") from None
        else:
            compiled = module
    return compiled


def name() -> str:
    return "numpy" if compiled is None else "numba"


use(os.environ.get("SPINN_KERNELS", "auto"))
