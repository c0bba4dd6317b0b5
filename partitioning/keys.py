"""Give every slice a range of 32-bit multicast keys."""

from __future__ import annotations

import numpy as np

from .errors import UnfeasibleError
from .model import KeySpace, Slices

__all__ = ["allocate_keys"]

_KEY_BITS = 32


def allocate_keys(slices: Slices, *, key_bits: int = 32) -> KeySpace:
    """Allocate one aligned block of keys per slice.

    Key layout (``s`` = slice-index bits, ``x`` = offset bits)::

         key_bits-1                                         0
        +-----------------+--------------------+-------------+
        |  global layout  |    slice index     |   offset    |
        |  (zero, unused) |  s = bits(S - 1)   |  x = bits(  |
        |                 |                    |  max size-1)|
        +-----------------+--------------------+-------------+
         mask:  1 1 ... 1 1  1 1 ...          1  0 ...     0

    - ``x`` is the number of bits of the largest offset, ``max(hi - lo) - 1``
      (0 when every slice holds one atom); ``s`` that of the largest slice id
      ``S - 1`` (0 for a single slice).
    - ``base[s] = s << x``; the key of atom ``i`` of slice ``s`` is
      ``base[s] | (i - lo[s])``; ``mask[s]`` has ones on every bit above the
      offset (including the unused top bits), so ``(key & mask[s]) == base[s]``
      selects exactly the block of slice ``s``.
    - **Keys increase with slice id**, and slices are ordered by
      ``(vertex, lo)``: sorting keys sorts atoms by ``(vertex, atom)``, i.e. by
      global neuron id. The runtime relies on this for its canonical delivery
      order. The slice of a key is ``key >> x`` (see :meth:`KeySpace.decode`).

    Parameters
    ----------
    slices : Slices
    key_bits : int, keyword-only
        Bits available for keys, 1..32 (fewer than 32 reserves top bits).

    Returns
    -------
    KeySpace

    Raises
    ------
    UnfeasibleError
        ``s + x > key_bits``: the message names the number of slices and the
        largest slice.

    Examples
    --------
    >>> k = allocate_keys(Slices(vertex=[0, 0, 0, 1], lo=[0, 4, 7, 0], hi=[4, 7, 10, 1]))
    >>> k.offset_bits, k.base.tolist(), hex(int(k.mask[0]))
    (2, [0, 4, 8, 12], '0xfffffffc')
    """
    if not 1 <= key_bits <= _KEY_BITS:
        raise UnfeasibleError(f"key_bits is {key_bits}; keys are uint32, so use 1..32")
    n_slices = slices.n_slices
    largest = int(slices.sizes().max()) if n_slices else 1
    offset_bits = max(largest - 1, 0).bit_length()
    slice_bits = max(n_slices - 1, 0).bit_length()
    if slice_bits + offset_bits > key_bits:
        raise UnfeasibleError(
            f"{n_slices} slices need {slice_bits} key bits and the largest slice "
            f"({largest} atoms) needs {offset_bits} offset bits: {slice_bits + offset_bits} "
            f"> {key_bits} available. Raise max_atoms_per_core (fewer, larger slices), "
            f"or map fewer or smaller populations"
        )
    base = (np.arange(n_slices, dtype=np.uint64) << np.uint64(offset_bits)).astype(np.uint32)
    mask_value = (0xFFFFFFFF << offset_bits) & 0xFFFFFFFF
    mask = np.full(n_slices, mask_value, dtype=np.uint32)
    return KeySpace(base=base, mask=mask, offset_bits=offset_bits)
