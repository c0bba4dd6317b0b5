"""Cell positions and the space distances are measured in, engine-side.

A population's positions are a frozen *description*, evaluated for any
subset of its neurons with ``take(indices) -> (3, k)`` float64 (µm, or
whatever unit the script uses):

* :class:`ExplicitPositions`: a read-only ``(3, n)`` array the script gave;
* :class:`Line`, :class:`Grid2D`, :class:`Grid3D`: PyNN's regular
  structures, computed from the neuron index (bitwise equal to PyNN's
  ``structure.generate_positions(n)``);
* :class:`RandomStructure`: uniform positions inside a :class:`Cuboid` or a
  :class:`Sphere`, drawn per block of :data:`~spinn.values.NEURON_BLOCK`
  neurons from a keyed stream. Every rank and every MPI process gets the
  same positions for the same neuron whatever subset it asks for (PyNN's own
  ``RandomStructure`` draws from an rng, which differs between processes
  when it is not seeded).

:class:`SpaceSpec` measures distances as PyNN's ``Space`` does (axes,
scale factor and offset applied to the post-synaptic side, periodic
boundaries), elementwise and broadcasting over ``(3, ...)`` arrays.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .rng import keyed_generator
from .values import NEURON_BLOCK, frozen_array

__all__ = ["SpaceSpec", "ExplicitPositions", "Line", "Grid2D", "Grid3D", "Cuboid", "Sphere",
           "RandomStructure", "take_positions", "grid2d_shape", "grid3d_shape"]

#: PyNN's axis selections (``Space.AXES``); None means all three
_AXES = {"x": (0,), "y": (1,), "z": (2,), "xy": (0, 1), "yz": (1, 2), "xz": (0, 2),
         "xyz": (0, 1, 2)}


def _per_axis(value, name: str):
    """A number, or a 3-vector of numbers as a tuple of floats."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return float(array)
    if array.shape != (3,):
        raise ValueError(f"Space {name} must be a number or 3 numbers (x, y, z), got {value!r}")
    return tuple(float(v) for v in array)


def _axis_value(value, axis: int) -> float:
    return value if isinstance(value, float) else value[axis]


@dataclass(frozen=True)
class SpaceSpec:
    """The space of a projection's distances (PyNN's ``pyNN.space.Space``).

    Parameters
    ----------
    axes : str or None
        the axes distances are measured along: ``"x"``, ``"y"``, ``"z"``,
        ``"xy"``, ``"yz"``, ``"xz"`` or ``"xyz"`` (None: all three).
    scale_factor : float or 3 floats
        multiplies the post-synaptic positions (after the offset), for
        sides whose positions are in different units.
    offset : float or 3 floats
        added to the post-synaptic positions before scaling, for sides
        whose origins differ.
    periodic_boundaries : None or 3 entries of None or (min, max)
        per axis, the extent of a periodic dimension: a difference ``dx``
        along it counts as ``min(|dx|, (max - min) - |dx|)``.

    >>> s = SpaceSpec(periodic_boundaries=((0, 10), None, None))
    >>> s.distances(np.array([[1.0], [0.0], [0.0]]), np.array([[9.0], [0.0], [0.0]])).tolist()
    [2.0]
    """
    axes: str = "xyz"
    scale_factor: object = 1.0
    offset: object = 0.0
    periodic_boundaries: tuple | None = None

    def __post_init__(self):
        axes = "xyz" if self.axes is None else str(self.axes)
        if axes not in _AXES:
            raise ValueError(f"Space axes must be one of {sorted(_AXES)} or None, "
                             f"got {self.axes!r}")
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "scale_factor", _per_axis(self.scale_factor, "scale_factor"))
        object.__setattr__(self, "offset", _per_axis(self.offset, "offset"))
        if self.periodic_boundaries is not None:
            bounds = tuple(self.periodic_boundaries)
            if len(bounds) != 3:
                raise ValueError("Space periodic_boundaries must give one entry per axis "
                                 f"(x, y, z), each None or (min, max); got {bounds!r}")
            object.__setattr__(self, "periodic_boundaries", tuple(
                None if b is None else (float(b[0]), float(b[1])) for b in bounds))

    def distances(self, A, B) -> np.ndarray:
        """Distance from pre position ``A[:, i]`` to post position ``B[:, i]``.

        ``A`` and ``B`` are ``(3, ...)`` arrays that broadcast against each
        other (``(3, k)`` and ``(3, k)`` pair elementwise; ``(3, 1, k)``
        and ``(3, m, 1)`` give an ``(m, k)`` matrix). The arithmetic is
        PyNN's, in the same order, so the values are bitwise equal to
        ``Space.distances``.
        """
        A = np.asarray(A, dtype=np.float64)
        B = np.asarray(B, dtype=np.float64)
        if A.shape[:1] != (3,) or B.shape[:1] != (3,):
            raise ValueError(f"positions must have shape (3, ...), got {A.shape} and {B.shape}")
        single = A.ndim == 1 and B.ndim == 1
        if single:              # one pair: keep the arithmetic on arrays
            A, B = A[:, None], B[:, None]
        total = None
        for axis in _AXES[self.axes]:
            post = _axis_value(self.scale_factor, axis) * (B[axis] + _axis_value(self.offset, axis))
            # in place on the one (broadcast) difference array: the same
            # operations as PyNN, without the temporaries
            diff = np.subtract(A[axis], post)
            bounds = None if self.periodic_boundaries is None else self.periodic_boundaries[axis]
            if bounds is not None:
                extent = bounds[1] - bounds[0]
                np.abs(diff, out=diff)
                np.minimum(diff, extent - diff, out=diff)
            np.multiply(diff, diff, out=diff)
            if total is None:
                total = diff
            else:
                total += diff
        np.sqrt(total, out=total)
        return total[0] if single else total


def _positions_shape(indices: np.ndarray) -> np.ndarray:
    return np.empty((3,) + indices.shape, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class ExplicitPositions:
    """Positions the script gave, a read-only ``(3, n)`` array."""
    array: np.ndarray

    def __post_init__(self):
        array = frozen_array(self.array, np.float64)
        if array.ndim != 2 or array.shape[0] != 3:
            raise ValueError(f"explicit positions must have shape (3, n), got {array.shape}")
        object.__setattr__(self, "array", array)

    def take(self, indices) -> np.ndarray:
        """Positions ``(3,) + indices.shape`` of the neurons ``indices``."""
        return np.array(self.array[:, np.asarray(indices, dtype=np.int64)])


@dataclass(frozen=True)
class Line:
    """Neurons evenly spaced along x (PyNN's ``Line``): neuron ``i`` at
    ``(x0 + dx * i, y, z)``.

    >>> Line(dx=2.0, x0=1.0).take(np.array([0, 3])).tolist()
    [[1.0, 7.0], [0.0, 0.0], [0.0, 0.0]]
    """
    dx: float = 1.0
    x0: float = 0.0
    y: float = 0.0
    z: float = 0.0

    def take(self, indices) -> np.ndarray:
        index = np.asarray(indices, dtype=np.int64)
        out = _positions_shape(index)
        # PyNN: dx * arange(n, dtype=float) + x0, zeros(n) + y
        out[0] = self.dx * index.astype(np.float64) + self.x0
        out[1] = 0.0 + self.y
        out[2] = 0.0 + self.z
        return out


@lru_cache(maxsize=16)
def _fill_permutation(key: int, size: int) -> np.ndarray:
    """The keyed order of a randomly filled grid: neuron ``i`` sits on grid point ``perm[i]``."""
    return frozen_array(keyed_generator(key, 0, 0).permutation(size).astype(np.int64))


def _check_fill(fill_order: str, key) -> None:
    if fill_order not in ("sequential", "random"):
        raise ValueError(f"fill_order must be 'sequential' or 'random', got {fill_order!r}")
    if fill_order == "random" and key is None:
        raise ValueError("a randomly filled grid needs a stream key (key=...)")


def _grid_points(fill_order: str, key, size: int, index: np.ndarray) -> np.ndarray:
    if fill_order == "random":
        return _fill_permutation(int(key), int(size))[index]
    return index


def grid2d_shape(size: int, aspect_ratio: float) -> tuple[int, int]:
    """``(nx, ny)`` of a 2D grid of ``size`` points, as PyNN's ``Grid2D.calculate_size``.

    >>> grid2d_shape(200, 2.0)
    (20, 10)
    """
    nx = math.sqrt(size * aspect_ratio)
    if not math.isclose(size % nx, 0, rel_tol=1e-12, abs_tol=1e-12):
        raise ValueError(f"Grid2D(aspect_ratio={aspect_ratio}) cannot hold {size} neurons: "
                         f"nx = sqrt(size * aspect_ratio) = {nx} must divide the size")
    nx = int(round(nx))
    return nx, size // nx


def grid3d_shape(size: int, aspect_ratio_xy: float, aspect_ratio_xz: float) -> tuple[int, int, int]:
    """``(nx, ny, nz)`` of a 3D grid of ``size`` points, as PyNN's ``Grid3D.calculate_size``.

    A ValueError when the rounded sides do not multiply to ``size``.

    >>> grid3d_shape(1000, 2.0, 0.5)
    (10, 5, 20)
    """
    a, b = aspect_ratio_xy, aspect_ratio_xz
    nx = int(round(math.pow(size * a * b, 1 / 3.0)))
    ny = int(round(nx / a))
    nz = int(round(nx / b))
    if nx * ny * nz != size:
        raise ValueError(f"Grid3D(aspect_ratioXY={a}, aspect_ratioXZ={b}) cannot hold {size} "
                         f"neurons (nx, ny, nz = {nx}, {ny}, {nz})")
    return nx, ny, nz


@dataclass(frozen=True)
class Grid2D:
    """A 2D grid of ``size`` neurons (PyNN's ``Grid2D``), filled along y
    first: neuron ``i`` at ``(x0 + dx * (i // ny), y0 + dy * (i % ny), z)``.

    ``fill_order="random"`` places neuron ``i`` on grid point ``perm[i]``
    of a permutation drawn from stream ``key`` (the same in every process).
    """
    aspect_ratio: float = 1.0
    dx: float = 1.0
    dy: float = 1.0
    x0: float = 0.0
    y0: float = 0.0
    z: float = 0.0
    fill_order: str = "sequential"
    size: int = 0
    key: int | None = None

    def __post_init__(self):
        _check_fill(self.fill_order, self.key)
        object.__setattr__(self, "size", int(self.size))
        if self.size:
            grid2d_shape(self.size, self.aspect_ratio)

    def take(self, indices) -> np.ndarray:
        _, ny = grid2d_shape(int(self.size), self.aspect_ratio)
        return _lattice(self, indices, ny, 1, (self.x0, self.y0, self.z),
                        (self.dx, self.dy, 0.0))


@dataclass(frozen=True)
class Grid3D:
    """A 3D grid of ``size`` neurons (PyNN's ``Grid3D``), filled along z,
    then y, then x (see :class:`Grid2D` for ``fill_order`` and ``key``)."""
    aspect_ratioXY: float = 1.0
    aspect_ratioXZ: float = 1.0
    dx: float = 1.0
    dy: float = 1.0
    dz: float = 1.0
    x0: float = 0.0
    y0: float = 0.0
    z0: float = 0.0
    fill_order: str = "sequential"
    size: int = 0
    key: int | None = None

    def __post_init__(self):
        _check_fill(self.fill_order, self.key)
        object.__setattr__(self, "size", int(self.size))
        if self.size:
            grid3d_shape(self.size, self.aspect_ratioXY, self.aspect_ratioXZ)

    def take(self, indices) -> np.ndarray:
        _, ny, nz = grid3d_shape(int(self.size), self.aspect_ratioXY, self.aspect_ratioXZ)
        return _lattice(self, indices, ny, nz, (self.x0, self.y0, self.z0),
                        (self.dx, self.dy, self.dz))


def _lattice(grid, indices, ny: int, nz: int, origin, spacing) -> np.ndarray:
    """Positions of ``indices`` on a grid filled along z, then y, then x
    (``nz = 1`` for a plane): ``origin + spacing * (ix, iy, iz)``."""
    index = np.asarray(indices, dtype=np.int64)
    point = _grid_points(grid.fill_order, grid.key, grid.size, index)
    ixy, iz = np.divmod(point, nz)
    ix, iy = np.divmod(ixy, ny)
    out = _positions_shape(index)
    for axis, steps in enumerate((ix, iy, iz)):
        out[axis] = origin[axis] + spacing[axis] * steps.astype(np.float64)
    return out


@dataclass(frozen=True)
class Cuboid:
    """A box of ``width`` (x) by ``height`` (y) by ``depth`` (z) centred on the origin."""
    width: float
    height: float
    depth: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` uniform points ``(n, 3)`` (PyNN's formula)."""
        return 0.5 * rng.uniform(-1, 1, size=(n, 3)) * (self.width, self.height, self.depth)


@dataclass(frozen=True)
class Sphere:
    """A ball of ``radius`` centred on the origin."""
    radius: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` uniform points ``(n, 3)``: candidates in the enclosing cube,
        kept when strictly inside the unit ball (as PyNN), in batches."""
        kept = []
        found = 0
        while found < n:
            # a candidate is kept with probability pi/6 ~ 0.52
            candidates = rng.uniform(-1, 1, size=(2 * (n - found) + 16, 3))
            inside = candidates[(candidates ** 2).sum(axis=1) < 1]
            kept.append(inside)
            found += inside.shape[0]
        return self.radius * np.concatenate(kept)[:n]


@dataclass(frozen=True)
class RandomStructure:
    """Neurons uniformly inside ``boundary`` (a :class:`Cuboid` or a
    :class:`Sphere`) centred on ``origin``.

    Block ``b`` (neurons ``b * NEURON_BLOCK`` onwards) is drawn whole from
    ``keyed_generator(key, b)``: a neuron's position depends only on its
    index and the key.

    >>> r = RandomStructure(Sphere(2.0), (0.0, 0.0, 1.0), key=9)
    >>> bool(np.array_equal(r.take(np.array([5, 3000]))[:, 1], r.take(np.array([3000]))[:, 0]))
    True
    """
    boundary: object
    origin: tuple = (0.0, 0.0, 0.0)
    key: int = 0

    def __post_init__(self):
        origin = tuple(float(v) for v in self.origin)
        if len(origin) != 3:
            raise ValueError(f"RandomStructure origin must be (x, y, z), got {self.origin!r}")
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "key", int(self.key) & 0xFFFFFFFFFFFFFFFF)
        if not hasattr(self.boundary, "sample"):
            raise TypeError(f"RandomStructure boundary must be a Cuboid or a Sphere, "
                            f"got {type(self.boundary).__name__}")

    def block(self, b: int) -> np.ndarray:
        """Positions ``(NEURON_BLOCK, 3)`` of block ``b``."""
        points = self.boundary.sample(keyed_generator(self.key, int(b)), NEURON_BLOCK)
        return np.asarray(self.origin) + points

    def take(self, indices) -> np.ndarray:
        index = np.asarray(indices, dtype=np.int64)
        flat = index.ravel()
        out = np.empty((3, flat.size), dtype=np.float64)
        blocks = flat // NEURON_BLOCK
        order = np.argsort(blocks, kind="stable")
        sorted_blocks = blocks[order]
        starts = np.flatnonzero(np.r_[True, sorted_blocks[1:] != sorted_blocks[:-1]]) \
            if flat.size else np.zeros(0, dtype=np.int64)
        ends = np.r_[starts[1:], flat.size]
        for a, e in zip(starts.tolist(), ends.tolist()):
            b = int(sorted_blocks[a])
            which = order[a:e]
            out[:, which] = self.block(b)[flat[which] - b * NEURON_BLOCK].T
        return out.reshape((3,) + index.shape)


def take_positions(description, indices) -> np.ndarray:
    """Positions ``(3, k)`` of ``indices`` from a position description, or
    from a plain ``(3, n)`` array (explicit positions)."""
    if isinstance(description, np.ndarray):
        return np.array(description[:, np.asarray(indices, dtype=np.int64)], dtype=np.float64)
    return description.take(indices)

