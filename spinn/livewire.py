"""Live spike output over UDP: the wire format, the sender and a receiver.

Version 1 of the format, one datagram per rank, step and population with
spikes (little-endian; a C or Java client reads it with a struct)::

    offset  size  field
    0       4     magic b"SPNL"
    4       1     version (1)
    5       1     reserved (0)
    6       2     label length L (uint16)
    8       8     step stamp s (uint64): the spikes happened in step s - 1,
                  at time s * dt
    16      8     time in ms (float64) = s * dt
    24      4     count n (uint32)
    28      L     population label (UTF-8)
    28 + L  4 n   neuron indices in the population (uint32), ascending

A step's spikes of one population on one rank that do not fit in one
datagram (more than 16,000 neurons) go in several. Each rank sends the
spikes of its own neurons: nothing is gathered on the way.
"""
from __future__ import annotations

import socket
import struct
import threading

import numpy as np

MAGIC = b"SPNL"
VERSION = 1
HEADER = struct.Struct("<4sBBHQdI")
MAX_PER_DATAGRAM = 16000

__all__ = ["encode", "decode", "LiveOutput", "Receiver", "WireError"]


class WireError(ValueError):
    """A datagram that is not a spinn live-spikes datagram of a known version."""


def encode(label: str, stamp: int, time_ms: float, indices: np.ndarray) -> list:
    """The datagrams for one population's spikes of one step."""
    name = label.encode("utf-8")
    out = []
    indices = np.ascontiguousarray(indices, dtype="<u4")
    for a in range(0, max(indices.size, 1), MAX_PER_DATAGRAM):
        part = indices[a:a + MAX_PER_DATAGRAM]
        out.append(HEADER.pack(MAGIC, VERSION, 0, len(name), int(stamp), float(time_ms),
                               part.size) + name + part.tobytes())
    return out


def decode(data: bytes):
    """``(label, stamp, time_ms, indices)`` of one datagram, or WireError."""
    if len(data) < HEADER.size:
        raise WireError(f"datagram of {len(data)} bytes is shorter than the header")
    magic, version, _, n_name, stamp, time_ms, count = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise WireError(f"bad magic {magic!r}")
    if version != VERSION:
        raise WireError(f"format version {version}, this reader knows {VERSION}")
    if len(data) != HEADER.size + n_name + 4 * count:
        raise WireError(f"datagram of {len(data)} bytes, the header says "
                        f"{HEADER.size + n_name + 4 * count}")
    label = data[HEADER.size:HEADER.size + n_name].decode("utf-8", errors="replace")
    indices = np.frombuffer(data, dtype="<u4", offset=HEADER.size + n_name, count=count)
    return label, int(stamp), float(time_ms), indices.astype(np.int64)


class LiveOutput:
    """One rank's sender for one population: ``[lo, hi)`` global ids."""

    def __init__(self, label: str, first_gid: int, lo: int, hi: int, host: str, port: int):
        self.label, self.first_gid, self.lo, self.hi = label, first_gid, lo, hi
        self.address = (host, int(port))
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sent = 0

    def send(self, stamp: int, dt_ms: float, gids: np.ndarray) -> None:
        mine = gids[(gids >= self.lo) & (gids < self.hi)]
        if mine.size == 0:
            return
        for datagram in encode(self.label, stamp, stamp * dt_ms, np.sort(mine - self.first_gid)):
            try:
                self.socket.sendto(datagram, self.address)
            except OSError:         # nobody listening: live output never stops a run
                pass
        self.sent += mine.size

    def close(self) -> None:
        self.socket.close()


class Receiver:
    """Receives live-spike datagrams on a UDP port in a thread and calls
    ``callback(label, time_ms, indices)`` for each; bad datagrams are dropped
    and counted (``dropped``)."""

    def __init__(self, callback, host: str = "127.0.0.1", port: int = 0):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.socket.bind((host, port))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.callback = callback
        self.dropped = 0
        self.received = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.socket.recvfrom(1 << 17)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                label, stamp, time_ms, indices = decode(data)
            except WireError:
                self.dropped += 1
                continue
            self.received += indices.size
            self.callback(label, time_ms, indices)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        self.socket.close()
