"""Rank images on disk: msgpack files of the frozen arrays, as they are.

SpiNNaker's toolchain writes a "data specification" per core before loading
the machine; a rank image is spinn's equivalent and makes a large job's
start-up inspectable. :func:`save_rank_image` writes a
:class:`~spinn.build.RankImage` (neurons with evaluated parameters and
initial values, the generated synapses in their compact rows, the routing
table) with every array as raw little-endian bytes; :func:`load_rank_image`
returns an equal RankImage, from which :class:`~spinn.runtime.RankRuntime`
simulates exactly what the in-memory build simulates.

``save_rank_images(spec, mapping, directory)`` (``spinn map --save``) builds
and writes every rank's image from one process: each rank's footprint first
(pass 1), then each image with its routing, one at a time, so memory stays
that of one rank.
"""
from __future__ import annotations

import dataclasses
import os
from types import MappingProxyType

import msgpack
import numpy as np

from partitioning import RoutingTable

from .build import (GroupImage, RankImage, RoutingImage, build_rank_image, footprint_requests,
                    with_routing)
from .fusion import FusedImage, ReplicatedImage
from .errors import SpinnError
from .plasticity import PlasticitySpec
from .shortterm import ShortTermSpec
from .synapses import ProjectionPart, SynapseImage

__all__ = ["FORMAT", "save_rank_image", "load_rank_image", "read_rank_image",
           "save_rank_images"]

FORMAT = "spinn-rank-image/2"

_TYPES = {cls.__name__: cls for cls in (RankImage, GroupImage, SynapseImage, ProjectionPart,
                                        RoutingImage, RoutingTable, PlasticitySpec,
                                        ShortTermSpec, FusedImage, ReplicatedImage)}


def _encode(obj):
    if isinstance(obj, np.ndarray):
        array = np.ascontiguousarray(obj)
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        # (the array's own shape: ascontiguousarray makes a 0-d array 1-d)
        return {"__nd__": True, "dtype": array.dtype.str, "shape": list(obj.shape),
                "data": array.tobytes()}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, MappingProxyType):
        return {"__map__": dict(obj)}
    if dataclasses.is_dataclass(obj) and type(obj).__name__ in _TYPES:
        return {"__dc__": type(obj).__name__,
                "fields": {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}}
    raise TypeError(f"cannot store {type(obj).__name__} in a rank image")


def _decode(obj):
    if "__nd__" in obj:
        array = np.frombuffer(obj["data"], dtype=np.dtype(obj["dtype"])).reshape(obj["shape"])
        return array        # read-only, like the image's own arrays
    if "__map__" in obj:
        return MappingProxyType(obj["__map__"])
    if "__dc__" in obj:
        cls = _TYPES[obj["__dc__"]]
        fields = obj["fields"]
        if cls is RankImage:
            fields["groups"] = tuple(fields["groups"])
            fields["rules"] = tuple(tuple(r) for r in fields["rules"])
            fields["fused"] = tuple(fields["fused"])
            fields["replicated"] = tuple(fields.get("replicated", ()))
            fields["replicated_populations"] = tuple(fields.get("replicated_populations", ()))
            fields["population_seeds"] = tuple(tuple(p) for p in
                                               fields.get("population_seeds", ()))
        if (cls in (GroupImage, FusedImage, ReplicatedImage)
                and fields["spike_times"] is not None):
            fields["spike_times"] = tuple(fields["spike_times"])
        if cls is GroupImage:
            fields["populations"] = tuple(tuple(p) for p in fields["populations"])
        if cls is SynapseImage:
            fields["parts"] = tuple(fields["parts"])
            fields["short_term"] = tuple(tuple(e) for e in fields.get("short_term", ()))
        return cls(**fields)
    return obj


def save_rank_image(image: RankImage, path: str) -> None:
    with open(path, "wb") as f:
        msgpack.pack({"format": FORMAT, "image": image}, f, default=_encode, use_bin_type=True)


def read_rank_image(path: str) -> RankImage:
    """The image stored in ``path``."""
    with open(path, "rb") as f:
        content = msgpack.unpack(f, object_hook=_decode, raw=False, strict_map_key=False)
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        found = content.get("format") if isinstance(content, dict) else None
        raise SpinnError(f"{path}: not a spinn rank image (format {found!r}, "
                         f"expected {FORMAT!r})")
    return content["image"]


load_rank_image = read_rank_image


def save_rank_images(spec, mapping, directory: str) -> list:
    """Build and write ``rank-<r>.msgpack`` for every rank; returns the paths."""
    os.makedirs(directory, exist_ok=True)
    n = mapping.placement.n_ranks
    requests = [[None] * n for _ in range(n)]      # requests[owner][asker]
    for r in range(n):
        asked = footprint_requests(build_rank_image(spec, mapping, r), mapping)
        for owner in range(n):
            requests[owner][r] = asked[owner]
    paths = []
    for r in range(n):
        image = with_routing(build_rank_image(spec, mapping, r), mapping, requests[r])
        path = os.path.join(directory, f"rank-{r}.msgpack")
        save_rank_image(image, path)
        paths.append(path)
    return paths
