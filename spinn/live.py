"""Live spikes: a running simulation streams spikes to the outside world, as
sPyNNaker's ``external_devices.activate_live_output_for`` and
``SpynnakerLiveSpikesConnection`` do (names and behaviour follow them, so
existing scripts read naturally).

In the script::

    spinn.live.activate_live_output_for(motor, host="127.0.0.1", port=17895)

and in another process or thread::

    conn = spinn.live.LiveSpikesConnection(receive_labels=["motor"], local_port=17895)
    conn.add_receive_callback("motor", lambda label, time, ids: ...)

Each rank sends the spikes of its own neurons as UDP datagrams, one per step
and population (the wire format is in :mod:`spinn.livewire`). Datagrams of
another format or for a label nobody asked for are dropped and counted.
Live *input* (``SpikeInjector``) is not there yet.
"""
from __future__ import annotations

from .livewire import Receiver, decode, encode  # noqa: F401

__all__ = ["activate_live_output_for", "LiveSpikesConnection"]

DEFAULT_PORT = 17895


def activate_live_output_for(population, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                             **ignored) -> None:
    """Stream ``population``'s spikes to ``host:port`` while the simulation
    runs (from the next ``run()`` on). Other sPyNNaker keywords are accepted
    and ignored."""
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


class LiveSpikesConnection:
    """Receives the live spikes of populations (by label) on a local UDP port,
    in a background thread, and calls the callbacks added for each label:
    ``fn(label, time_ms, neuron_ids)``."""

    def __init__(self, receive_labels=(), local_port: int = DEFAULT_PORT,
                 local_host: str = "127.0.0.1", send_labels=None):
        if send_labels:
            raise NotImplementedError("LiveSpikesConnection: sending spikes into a running "
                                      "simulation (SpikeInjector) is not there yet")
        self.labels = set(receive_labels)
        self.callbacks: dict = {}
        self.unknown = 0                # datagrams for labels not asked for
        self.receiver = Receiver(self._dispatch, local_host, local_port)
        self.local_port = self.receiver.port

    def add_receive_callback(self, label: str, fn) -> None:
        self.labels.add(label)
        self.callbacks.setdefault(label, []).append(fn)

    def add_start_callback(self, label: str, fn) -> None:
        """Called once, at the first spikes received for ``label``."""
        started = []

        def once(label_, time_ms, ids):
            if not started:
                started.append(True)
                fn(label_, self)
        self.callbacks.setdefault(label, []).insert(0, once)
        self.labels.add(label)

    @property
    def dropped(self) -> int:
        """Bad datagrams and datagrams for unknown labels."""
        return self.receiver.dropped + self.unknown

    def _dispatch(self, label, time_ms, ids) -> None:
        if label not in self.labels:
            self.unknown += 1
            return
        for fn in self.callbacks.get(label, ()):
            fn(label, time_ms, ids)

    def close(self) -> None:
        self.receiver.close()
