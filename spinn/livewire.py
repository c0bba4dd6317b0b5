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

Live *input* (version 1), one datagram from a client to the simulation's
live port names a :class:`~spinn.live.SpikeInjector` population by label and
the neurons that are to spike (little-endian)::

    offset  size  field
    0       4     magic b"SPNI"
    4       1     version (1)
    5       1     reserved (0)
    6       2     label length L (uint16)
    8       4     count n (uint32)
    12      L     population label (UTF-8)
    12 + L  4 n   neuron indices in the population (uint32), any order;
                  an index given twice spikes twice (multiplicity)

MPI rank 0 owns the live port. It reads what has arrived (without waiting)
before the first step of a run and after each exchange of spikes between
ranks (every step, or every minimum delay when batched), and the spikes enter
at the step processed next: spike *stamp* ``s`` (time ``s * dt``) when that
step is ``s - 1``, as in the output format. A datagram with another magic or
version, of the wrong length, for an unknown label or with an index out of
range is dropped whole and counted (provenance.json ``live_input``).

Control datagrams (version 1, 20 bytes, little-endian) carry the start
handshake between the simulation (rank 0) and the clients registered to be
notified (``database_notify_port_num=``, sPyNNaker's name)::

    offset  size  field
    0       4     magic b"SPNC"
    4       1     version (1)
    5       1     kind: 1 HELLO (simulation -> client), 2 READY (client ->
                  simulation), 3 START (simulation -> client), 4 PAUSE
                  (simulation -> client: the run ended)
    6       2     port (uint16): HELLO: the simulation's live input port
    8       4     session (uint32): one per run; READY echoes HELLO's
    12      8     time in ms (float64): where the run starts (HELLO, START)
                  or stopped (PAUSE)

Before each run the simulation sends HELLO to every registered address (again
every 0.2 s) until each has answered READY from that address, then START to
all of them, then steps; at the end of the run, PAUSE. A client learns the
live input port from HELLO.
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

INPUT_MAGIC = b"SPNI"
INPUT_VERSION = 1
INPUT_HEADER = struct.Struct("<4sBBHI")

CONTROL_MAGIC = b"SPNC"
CONTROL_VERSION = 1
CONTROL = struct.Struct("<4sBBHId")
HELLO, READY, START, PAUSE = 1, 2, 3, 4
CONTROL_KINDS = {HELLO: "HELLO", READY: "READY", START: "START", PAUSE: "PAUSE"}

__all__ = ["encode", "decode", "encode_input", "decode_input", "encode_control",
           "decode_control", "LiveOutput", "LiveInput", "Receiver", "WireError"]


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


def _parse(data: bytes, header, magic: bytes, version: int):
    """A datagram laid out as ``header`` (magic, version, pad, name length,
    ..., index count) then the label and the uint32 indices: ``(header
    fields, label, indices)``, or WireError."""
    if len(data) < header.size:
        raise WireError(f"datagram of {len(data)} bytes is shorter than the header")
    fields = header.unpack_from(data)
    if fields[0] != magic:
        raise WireError(f"bad magic {fields[0]!r}")
    if fields[1] != version:
        raise WireError(f"format version {fields[1]}, this reader knows {version}")
    n_name, count = fields[3], fields[-1]
    if len(data) != header.size + n_name + 4 * count:
        raise WireError(f"datagram of {len(data)} bytes, the header says "
                        f"{header.size + n_name + 4 * count}")
    label = data[header.size:header.size + n_name].decode("utf-8", errors="replace")
    indices = np.frombuffer(data, dtype="<u4", offset=header.size + n_name, count=count)
    return fields, label, indices.astype(np.int64)


def decode(data: bytes):
    """``(label, stamp, time_ms, indices)`` of one datagram, or WireError."""
    fields, label, indices = _parse(data, HEADER, MAGIC, VERSION)
    return label, int(fields[4]), float(fields[5]), indices


def encode_input(label: str, indices) -> list:
    """The datagrams that make neurons ``indices`` of ``label`` spike."""
    name = label.encode("utf-8")
    indices = np.ascontiguousarray(np.asarray(indices, dtype=np.int64).ravel())
    if indices.size and (indices.min() < 0 or indices.max() >= 2**32):
        raise ValueError(f"neuron indices of {label!r} must be in [0, 2**32), got "
                         f"{indices.min()}..{indices.max()}")
    indices = indices.astype("<u4")
    return [INPUT_HEADER.pack(INPUT_MAGIC, INPUT_VERSION, 0, len(name), part.size) + name
            + part.tobytes()
            for part in (indices[a:a + MAX_PER_DATAGRAM]
                         for a in range(0, max(indices.size, 1), MAX_PER_DATAGRAM))]


def decode_input(data: bytes):
    """``(label, indices)`` of one live-input datagram, or WireError."""
    _, label, indices = _parse(data, INPUT_HEADER, INPUT_MAGIC, INPUT_VERSION)
    return label, indices


def encode_control(kind: int, session: int, port: int = 0, time_ms: float = 0.0) -> bytes:
    return CONTROL.pack(CONTROL_MAGIC, CONTROL_VERSION, int(kind), int(port),
                        int(session) & 0xFFFFFFFF, float(time_ms))


def decode_control(data: bytes):
    """``(kind, session, port, time_ms)`` of a control datagram, or WireError."""
    if len(data) != CONTROL.size:
        raise WireError(f"control datagram of {len(data)} bytes, expected {CONTROL.size}")
    magic, version, kind, port, session, time_ms = CONTROL.unpack(data)
    if magic != CONTROL_MAGIC:
        raise WireError(f"bad magic {magic!r}")
    if version != CONTROL_VERSION:
        raise WireError(f"control version {version}, this reader knows {CONTROL_VERSION}")
    if kind not in CONTROL_KINDS:
        raise WireError(f"unknown control kind {kind}")
    return kind, session, port, time_ms


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
    and counted (``dropped``). Control datagrams (the start handshake) go to
    ``control(kind, session, port, time_ms, address)`` when it is given."""

    def __init__(self, callback, host: str = "127.0.0.1", port: int = 0, control=None):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.socket.bind((host, port))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.callback = callback
        self.control = control
        self.dropped = 0
        self.received = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, address = self.socket.recvfrom(1 << 17)
            except socket.timeout:
                continue
            except OSError:
                return
            if data[:4] == CONTROL_MAGIC and self.control is not None:
                try:
                    kind, session, port, time_ms = decode_control(data)
                except WireError:
                    self.dropped += 1
                    continue
                self.control(kind, session, port, time_ms, address)
                continue
            try:
                label, stamp, time_ms, indices = decode(data)
            except WireError:
                self.dropped += 1
                continue
            self.received += indices.size
            self.callback(label, time_ms, indices)

    def send(self, data: bytes, address) -> None:
        """Send from the receiving socket (its port is the sender's address)."""
        self.socket.sendto(data, address)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        self.socket.close()


class LiveTimeoutError(RuntimeError):
    """The clients the simulation was to wait for did not answer in time."""


#: reasons a live-input datagram is dropped (provenance.json ``live_input``)
DROP_REASONS = ("bad_format", "unknown_label", "index_out_of_range")


class LiveInput:
    """The simulation's live port (MPI rank 0's; other processes hold one with
    ``owner=False``, which knows the injectors but has no socket).

    ``injectors``: ``{label: (population id, first gid, size)}``; ``ports``:
    the UDP ports to listen on (0: any free one); ``notify``: ``[(host, port,
    what)]`` the clients to hand-shake with before each run; ``log_path``: the
    injection log (msgpack: a header, then one ``[segment, stamp, label,
    indices]`` per population and step with injected spikes).
    """

    def __init__(self, injectors: dict, ports, notify, dt_ms: float, owner: bool,
                 log_path=None, host: str = "127.0.0.1"):
        self.injectors = dict(injectors)
        self.by_id = {pid: (label, first, size) for label, (pid, first, size) in
                      self.injectors.items()}
        self.notify = list(notify)
        self.dt_ms = dt_ms
        self.owner = owner
        self.sockets = []
        self.pending = []               # (population id, indices) not yet injected
        self.records = []               # log records not yet written
        self.datagrams = 0              # good input datagrams
        self.spikes = 0                 # spikes injected
        self.dropped = {reason: 0 for reason in DROP_REASONS}
        self.session = 0
        self.log_path = log_path
        self._log = None
        self._logged_sizes = None
        self.host = host
        self.bound = set()              # ports asked for and listened on
        if not owner:
            return
        self._bind(sorted(set(int(p) for p in ports)) or [0], first=True)
        self.port = self.sockets[0].getsockname()[1]
        self._write_populations()

    def _bind(self, ports, first: bool = False) -> None:
        """Listen on ``ports`` as well (0: a free one); ``first``: nothing is
        listened on yet (a failure closes what was opened)."""
        for port in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
            try:
                s.bind((self.host, port))
            except OSError as exc:
                s.close()
                if first:
                    self.close()
                users = ", ".join(f"'{label}'" for label in self.injectors) or "the handshake"
                raise OSError(f"spinn.live: cannot listen on UDP {self.host}:{port} for "
                              f"{users} ({exc.strerror or exc}); choose another SpikeInjector "
                              "port (port=None takes a free one)") from None
            s.setblocking(False)
            self.sockets.append(s)
            self.bound.add(port)

    def set_injectors(self, injectors: dict, notify, ports=()) -> None:
        """The injectors, clients and ports of a later run (the network grew)."""
        self.injectors = dict(injectors)
        self.by_id = {pid: (label, first, size) for label, (pid, first, size) in
                      self.injectors.items()}
        self.notify = list(notify)
        if self.owner:
            self._bind(sorted(set(int(p) for p in ports) - self.bound))
        self._write_populations()

    def _write_populations(self) -> None:
        """Open the log with its header at the first injector; a later run
        with other injectors appends ``{"populations": ...}`` (readers merge)."""
        if not self.owner or self.log_path is None or not self.injectors:
            return
        import msgpack
        sizes = {label: size for label, (_, _, size) in self.injectors.items()}
        if self._log is None:
            self._log = open(self.log_path, "wb")
            self._log.write(msgpack.packb({
                "format": "spinn-injections", "version": 1, "dt_ms": self.dt_ms,
                "populations": sizes,
                "record": ["segment", "stamp", "label", "indices"],
                "note": "neurons `indices` of `label` spiked at time stamp * dt_ms (in step "
                        "stamp - 1) of segment `segment`; a later {populations: ...} adds "
                        "injectors"}))
        elif sizes != self._logged_sizes:
            self._log.write(msgpack.packb({"populations": sizes}))
        self._logged_sizes = sizes
        self._log.flush()

    # -- receiving ---------------------------------------------------------------------
    def drain(self, ready=None) -> None:
        """Read every datagram that has arrived (never waits). READY answers
        are added to the set ``ready`` (their senders' addresses)."""
        for s in self.sockets:
            while True:
                try:
                    data, address = s.recvfrom(1 << 17)
                except (BlockingIOError, InterruptedError):
                    break
                except ConnectionRefusedError:  # ICMP port unreachable (a client gone)
                    continue
                except OSError:
                    break
                self._handle(data, address, ready)

    def _handle(self, data: bytes, address, ready) -> None:
        if data[:4] == CONTROL_MAGIC:
            try:
                kind, session, _, _ = decode_control(data)
            except WireError:
                self.dropped["bad_format"] += 1
                return
            if kind == READY and ready is not None and session == self.session:
                ready.add(address[:2])
            return
        try:
            label, indices = decode_input(data)
        except WireError:
            self.dropped["bad_format"] += 1
            return
        target = self.injectors.get(label)
        if target is None:
            self.dropped["unknown_label"] += 1
            return
        pid, _, size = target
        if indices.size and int(indices.max()) >= size:
            self.dropped["index_out_of_range"] += 1
            return
        self.datagrams += 1
        if indices.size:
            self.pending.append((pid, indices))

    def take(self, k: int, segment: int) -> np.ndarray:
        """What arrived, to enter at step ``k``: ``[population id, n, indices...]``
        words (logged here)."""
        self.drain()
        if not self.pending:
            return _NO_WORDS
        by_pop: dict = {}
        for pid, indices in self.pending:
            by_pop.setdefault(pid, []).append(indices)
        self.pending = []
        words = []
        for pid in sorted(by_pop):
            indices = np.sort(np.concatenate(by_pop[pid]))
            self.spikes += indices.size
            self.records.append([segment, k + 1, self.by_id[pid][0], indices.tolist()])
            words += [np.array([pid, indices.size], dtype=np.uint32), indices.astype(np.uint32)]
        if len(self.records) > 256:
            self.flush()
        return np.concatenate(words)

    # -- the handshake -------------------------------------------------------------------
    def handshake(self, time_ms: float, timeout: float) -> None:
        """HELLO to every registered client until each answered READY, then
        START; LiveTimeoutError naming the silent ones after ``timeout`` s."""
        if not self.notify:
            return
        import os
        import time
        self.session = int.from_bytes(os.urandom(4), "little") or 1
        targets = {}
        for host, port, what in self.notify:
            address = (socket.gethostbyname(host), int(port))
            targets.setdefault(address, what)
        hello = encode_control(HELLO, self.session, self.port, time_ms)
        ready: set = set()
        start = time.monotonic()
        sent = -1.0
        sender = self.sockets[0]
        while True:
            now = time.monotonic()
            waiting = [a for a in targets if a not in ready]
            if not waiting:
                break
            if now - start > timeout:
                names = "; ".join(f"{h}:{p} ({targets[(h, p)]})" for h, p in waiting)
                raise LiveTimeoutError(
                    f"spinn.live: waited {timeout:g} s for live clients to say they are "
                    f"ready, no READY from {names}. Start the client first (a "
                    "spinn.live.LiveSpikesConnection listening on that port answers by "
                    "itself), or give it longer: spinn.live.set_start_timeout(seconds) or "
                    "SPINN_LIVE_TIMEOUT")
            if now - sent >= 0.2:
                for address in waiting:
                    try:
                        sender.sendto(hello, address)
                    except OSError:
                        pass
                sent = now
            self.drain(ready)
            time.sleep(0.002)
        go = encode_control(START, self.session, self.port, time_ms)
        for address in targets:
            try:
                sender.sendto(go, address)
            except OSError:
                pass

    def pause(self, time_ms: float) -> None:
        """PAUSE to the registered clients: the run ended."""
        if not self.notify or not self.sockets:
            return
        message = encode_control(PAUSE, self.session, self.port, time_ms)
        for host, port, _ in self.notify:
            try:
                self.sockets[0].sendto(message, (socket.gethostbyname(host), int(port)))
            except OSError:
                pass

    # -- the log and provenance ------------------------------------------------------
    def flush(self) -> None:
        if self._log is not None and self.records:
            import msgpack
            for record in self.records:
                self._log.write(msgpack.packb(record))
            self._log.flush()
        self.records = []

    def report(self) -> dict:
        return {"port": getattr(self, "port", None), "datagrams": self.datagrams,
                "spikes": self.spikes, "dropped": dict(self.dropped),
                "dropped_total": sum(self.dropped.values()),
                "populations": sorted(self.injectors),
                "log": str(self.log_path) if self.log_path and self.injectors else None}

    def close(self) -> None:
        self.flush()
        if self._log is not None:
            self._log.close()
            self._log = None
        for s in self.sockets:
            s.close()
        self.sockets = []


_NO_WORDS = np.zeros(0, dtype=np.uint32)
