"""Live spikes: a running simulation streams spikes to the outside world and
takes spikes from it, as sPyNNaker's ``external_devices`` do (names and
behaviour follow them, so existing scripts read naturally).

Output, in the script::

    spinn.live.activate_live_output_for(motor, host="127.0.0.1", port=17895)

Input, in the script::

    sensor = sim.Population(20, spinn.live.SpikeInjector(port=17896), label="sensor")

and a client, in another process (or thread)::

    conn = spinn.live.LiveSpikesConnection(receive_labels=["motor"], send_labels=["sensor"],
                                           local_port=17895, remote_port=17896)
    conn.add_receive_callback("motor", lambda label, time, ids: ...)
    conn.send_spikes("sensor", [0, 3, 7])

Each rank sends the spikes of its own neurons as UDP datagrams, one per step
and population. MPI rank 0 owns the live input port: it reads what arrived
before the first step of a run and after each exchange between ranks (every
step, or every minimum delay when exchanges are batched); the spikes enter at
the step processed next, on every rank that holds the injected neurons, so a
run is the same on any number of ranks given the same injections. Every
injected spike is logged with its step in ``<output>/injections.msgpack``;
:func:`replay` turns the log into a ``SpikeSourceArray`` that reproduces the
run offline, spike for spike. Bad datagrams (another format, truncated, an
unknown label, an index out of range) are dropped and counted
(``provenance.json`` ``live_input``, and the end-of-run summary).

Start handshake (sPyNNaker's database notification, in miniature): a client
registered with ``database_notify_port_num=`` (of ``SpikeInjector`` or
``activate_live_output_for``) or :func:`register_database_notification_request`
is sent HELLO (with the live input port) before each run; the run starts when
every registered client answered READY (a ``LiveSpikesConnection`` answers by
itself), or fails after :func:`set_start_timeout` seconds (30 by default, or
``SPINN_LIVE_TIMEOUT``) naming who did not answer. Then START: the client's
start callbacks ``fn(label, connection)`` run in its receiving thread; at the
end of the run PAUSE runs its pause/stop callbacks. A client nobody
registered keeps the old behaviour: its start callbacks run at the first
spikes it receives for the label. All wire formats are in :mod:`spinn.livewire`.
"""
from __future__ import annotations

import socket
import threading
from pathlib import Path

import numpy as np
from .livewire import (HELLO, PAUSE, READY, START, Receiver, decode,  # noqa: F401
                       encode, encode_control, encode_input)

__all__ = ["activate_live_output_for", "LiveSpikesConnection", "SpikeInjector", "replay",
           "read_injections", "register_database_notification_request",
           "set_start_timeout", "InjectionLog"]

DEFAULT_PORT = 17895

from .pynn.live import SpikeInjector  # noqa: E402  (the PyNN cell type)


def _notify(host, port, what: str) -> None:
    """Register a client to hand-shake with (host, port) before each run."""
    from .errors import NetworkError
    from .pynn.simulator import state
    if not 0 < int(port) < 65536:
        raise NetworkError(f"{what}: database_notify_port_num {port!r} is not a UDP port")
    entry = (str(host or "127.0.0.1"), int(port), what)
    if entry not in state.live_notify:
        state.live_notify.append(entry)
    if state.simulation is not None:
        state.simulation.live_notify = list(state.live_notify)


def activate_live_output_for(population, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                             database_notify_host=None, database_notify_port_num=None,
                             **ignored) -> None:
    """Stream ``population``'s spikes to ``host:port`` while the simulation
    runs (from the next ``run()`` on). With ``database_notify_port_num`` the
    client listening there is hand-shaken with before each run (see the
    module docstring). Other sPyNNaker keywords are accepted and ignored."""
    from .errors import NetworkError
    from .pynn.simulator import state
    state.require_setup("activate_live_output_for()")
    spec = getattr(population, "_spec", None)
    if spec is None:
        raise NetworkError(f"activate_live_output_for: {population!r} is not a spinn Population")
    if not 0 < int(port) < 65536:
        raise NetworkError(f"activate_live_output_for: port {port!r} is not a UDP port")
    entry = (spec.id, str(host), int(port))
    if entry not in state.live_outputs:
        state.live_outputs.append(entry)
    if state.simulation is not None:
        state.simulation.live_outputs = list(state.live_outputs)
    if database_notify_port_num:
        _notify(database_notify_host or host, database_notify_port_num,
                f"activate_live_output_for('{spec.label}') database_notify_port_num")


def register_database_notification_request(hostname: str = "127.0.0.1",
                                           notify_port: int = DEFAULT_PORT,
                                           ack_port=None) -> None:
    """Hand-shake with the client listening at ``hostname:notify_port`` before
    each run (sPyNNaker's name; ``ack_port`` is ignored: the client answers
    from the port it listens on)."""
    from .pynn.simulator import state
    state.require_setup("register_database_notification_request()")
    _notify(hostname, notify_port, "register_database_notification_request")


def set_start_timeout(seconds: float) -> None:
    """How long a run waits for its registered clients to be ready (s)."""
    from .pynn.simulator import state
    seconds = float(seconds)
    if not seconds > 0:
        raise ValueError(f"set_start_timeout: give a positive number of seconds, got {seconds!r}")
    state.live_timeout = seconds
    if state.simulation is not None:
        state.simulation.live_timeout = seconds


# -- the injection log ------------------------------------------------------------------

class InjectionLog:
    """An injection log (``<output>/injections.msgpack``): ``dt_ms``,
    ``populations`` ``{label: size}``, and ``records``: ``(segment, stamp,
    label, indices)``, neurons ``indices`` of ``label`` spiked at ``stamp *
    dt_ms`` (in step ``stamp - 1``) of segment ``segment`` (a ``reset()``
    starts the next one)."""

    def __init__(self, dt_ms: float, populations: dict, records: list):
        self.dt_ms, self.populations, self.records = dt_ms, dict(populations), records

    def segments(self) -> list:
        return sorted({r[0] for r in self.records})

    def spikes(self, label: str, segment=None):
        """``(stamps, indices)`` of ``label``'s injected spikes, by stamp."""
        if label not in self.populations:
            raise KeyError(f"the injection log has no SpikeInjector {label!r} (it has "
                           f"{sorted(self.populations)})")
        if segment is None:
            present = sorted({r[0] for r in self.records if r[2] == label})
            if len(present) > 1:
                raise ValueError(f"the injection log has {label!r} spikes in segments "
                                 f"{present}: say which one (segment=...)")
            segment = present[0] if present else 0
        mine = [r for r in self.records if r[2] == label and r[0] == segment]
        stamps = np.concatenate([np.full(len(r[3]), r[1], dtype=np.int64) for r in mine]
                                or [np.zeros(0, np.int64)])
        indices = np.concatenate([np.asarray(r[3], dtype=np.int64) for r in mine]
                                 or [np.zeros(0, np.int64)])
        return stamps, indices


def read_injections(path) -> InjectionLog:
    """Read an injection log: the file, or the output directory holding it."""
    import msgpack
    path = Path(path)
    if path.is_dir():
        path = path / "injections.msgpack"
    with open(path, "rb") as f:
        objects = list(msgpack.Unpacker(f, raw=False))
    if not objects or not isinstance(objects[0], dict) or \
            objects[0].get("format") != "spinn-injections":
        raise ValueError(f"{path} is not a spinn injection log")
    head = objects[0]
    if head.get("version") != 1:
        raise ValueError(f"{path}: injection log version {head.get('version')}, this reader "
                         "knows 1")
    populations = dict(head["populations"])
    records = []
    for r in objects[1:]:
        if isinstance(r, dict):         # injectors added by a later run
            populations.update(r.get("populations", {}))
        else:
            records.append(tuple(r))
    return InjectionLog(head["dt_ms"], populations, records)


def replay(log, label: str, segment=None):
    """A ``SpikeSourceArray`` that spikes exactly as ``label``'s injected
    spikes did: each at time ``stamp * dt`` (the step it entered), with its
    multiplicity. ``log``: an :class:`InjectionLog`, its file, or the output
    directory. Use it in place of the ``SpikeInjector`` (same size, label and
    place in the script) to rerun a live run offline, bit for bit."""
    from .pynn.live import spike_source_array
    from .pynn.simulator import state
    if not isinstance(log, InjectionLog):
        log = read_injections(log)
    if state.initialized and abs(state.dt - log.dt_ms) > 1e-12 * log.dt_ms:
        raise ValueError(f"replay({label!r}): the log was made with timestep {log.dt_ms} ms, "
                         f"this simulation has {state.dt} ms")
    stamps, indices = log.spikes(label, segment)
    size = int(log.populations[label])
    order = np.lexsort((stamps, indices))
    times = stamps[order] * log.dt_ms
    bounds = np.searchsorted(indices[order], np.arange(size + 1))
    return spike_source_array([times[bounds[i]:bounds[i + 1]] for i in range(size)])


# -- the client ---------------------------------------------------------------------------

class LiveSpikesConnection:
    """A client of a running simulation (sPyNNaker's
    ``SpynnakerLiveSpikesConnection``): receives the live spikes of
    ``receive_labels`` on ``local_host:local_port`` in a background thread
    and calls ``fn(label, time_ms, neuron_ids)`` for each callback added;
    sends spikes to ``send_labels`` (``SpikeInjector`` populations) with
    :meth:`send_spikes`, to ``remote_host:remote_port`` if given, else to the
    port the simulation announced in the handshake. Answers the
    simulation's handshake by itself (see :mod:`spinn.live`)."""

    def __init__(self, receive_labels=None, send_labels=None, local_host: str = "127.0.0.1",
                 local_port: int = DEFAULT_PORT, remote_host: str | None = None,
                 remote_port: int | None = None, **ignored):
        self.labels = set(receive_labels or ())
        self.send_labels = None if send_labels is None else set(send_labels)
        self.callbacks: dict = {}
        self.start_callbacks: dict = {}
        self.pause_callbacks: dict = {}
        self.unknown = 0                # datagrams for labels not asked for
        self.remote = (None if remote_port is None else
                       (socket.gethostbyname(remote_host or "127.0.0.1"), int(remote_port)))
        self.started = threading.Event()    # set at START
        self.paused = threading.Event()     # set at PAUSE
        self._started_labels: set = set()
        self._sessions: set = set()
        self._lock = threading.Lock()
        self.receiver = Receiver(self._dispatch, local_host, local_port, control=self._control)
        self.local_port = self.receiver.port

    def add_receive_callback(self, label: str, fn) -> None:
        self.labels.add(label)
        self.callbacks.setdefault(label, []).append(fn)

    def add_start_callback(self, label: str, fn) -> None:
        """``fn(label, connection)`` at the start of each run (START of the
        handshake); for a client the simulation does not hand-shake with,
        once, at the first spikes received for ``label``."""
        self.start_callbacks.setdefault(label, []).append(fn)
        self.labels.add(label)

    add_start_resume_callback = add_start_callback

    def add_pause_stop_callback(self, label: str, fn) -> None:
        """``fn(label, connection)`` when a run ends (PAUSE)."""
        self.pause_callbacks.setdefault(label, []).append(fn)

    @property
    def dropped(self) -> int:
        """Bad datagrams and datagrams for unknown labels."""
        return self.receiver.dropped + self.unknown

    def _dispatch(self, label, time_ms, ids) -> None:
        if label not in self.labels:
            self.unknown += 1
            return
        if label not in self._started_labels and not self._sessions:
            self._started_labels.add(label)         # no handshake: start at first spikes
            for fn in self.start_callbacks.get(label, ()):
                fn(label, self)
        for fn in self.callbacks.get(label, ()):
            fn(label, time_ms, ids)

    def _control(self, kind, session, port, time_ms, address) -> None:
        if kind == HELLO:
            self.remote = self.remote or (address[0], int(port))
            self.receiver.send(encode_control(READY, session), address)
        elif kind == START:
            with self._lock:
                if session in self._sessions:
                    return
                self._sessions.add(session)
            self.paused.clear()
            self.started.set()
            for label, fns in list(self.start_callbacks.items()):
                self._started_labels.add(label)
                for fn in fns:
                    fn(label, self)
        elif kind == PAUSE:
            self.paused.set()
            for label, fns in list(self.pause_callbacks.items()):
                for fn in fns:
                    fn(label, self)

    def send_spikes(self, label: str, neuron_ids, send_full_keys: bool = False) -> None:
        """Make neurons ``neuron_ids`` of the ``SpikeInjector`` ``label`` spike
        (at the next step the simulation processes after they arrive)."""
        if self.send_labels is not None and label not in self.send_labels:
            raise ValueError(f"LiveSpikesConnection.send_spikes: {label!r} is not one of the "
                             f"send_labels {sorted(self.send_labels)}")
        if self.remote is None:
            raise RuntimeError(
                f"LiveSpikesConnection.send_spikes({label!r}): where the simulation listens "
                "is not known yet: give remote_port= (the SpikeInjector's port), or send "
                "after the handshake (from a start callback; register this connection's "
                "port with SpikeInjector(database_notify_port_num=...))")
        for datagram in encode_input(label, neuron_ids):
            self.receiver.send(datagram, self.remote)

    def send_spike(self, label: str, neuron_id: int, send_full_keys: bool = False) -> None:
        self.send_spikes(label, [neuron_id])

    def close(self) -> None:
        self.receiver.close()
