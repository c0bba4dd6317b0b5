"""The PyNN side of :mod:`spinn.live`: the ``SpikeInjector`` cell type and the
``SpikeSourceArray`` a replayed injection log becomes."""
from __future__ import annotations

import socket
import struct

import numpy as np
from pyNN.parameters import Sequence
from pyNN.standardmodels import StandardCellType

from .standardmodels import SpikeSourceArray, identity_translations


def spike_source_array(trains) -> SpikeSourceArray:
    """A SpikeSourceArray of one spike train (times in ms) per neuron."""
    return SpikeSourceArray(spike_times=[Sequence(t) for t in trains])


def _ipv4(host) -> float:
    """An IPv4 address as the number the engine keeps it as."""
    address = socket.gethostbyname(str(host))
    return float(struct.unpack("!I", socket.inet_aton(address))[0])


class SpikeInjector(StandardCellType):
    """Neurons that spike when a client says so, while the simulation runs
    (sPyNNaker's ``external_devices.SpikeInjector``).

    ``port``: the UDP port MPI rank 0 listens on for live input (None: a free
    one, which registered clients learn in the handshake);
    ``database_notify_host``/``database_notify_port_num``: a client to
    hand-shake with before each run (see :mod:`spinn.live`). sPyNNaker's other
    keywords (``virtual_key``, ``reserve_reverse_ip_tag``, ...) are accepted
    and ignored. The settings are kept as homogeneous parameters (the host as
    an IPv4 number) so every MPI process sees the same description.
    """
    default_parameters = {"port": 0.0, "database_notify_port_num": 0.0,
                          "database_notify_host": float(0x7F000001)}
    default_initial_values: dict = {}
    recordable = ["spikes"]
    injectable = False
    receptor_types = ()
    units = {"port": "", "database_notify_port_num": "", "database_notify_host": ""}
    translations = identity_translations(*default_parameters)
    engine_model = "SpikeInjector"

    def __init__(self, port=None, virtual_key=None, reserve_reverse_ip_tag=False,
                 database_notify_host=None, database_notify_port_num=None, **ignored):
        from ..errors import NetworkError
        for name, value in (("port", port), ("database_notify_port_num",
                                             database_notify_port_num)):
            if value is not None and not (isinstance(value, (int, np.integer))
                                          and 0 < int(value) < 65536):
                raise NetworkError(f"SpikeInjector: {name}={value!r} is not a UDP port")
        super().__init__(port=float(port or 0),
                         database_notify_port_num=float(database_notify_port_num or 0),
                         database_notify_host=_ipv4(database_notify_host or "127.0.0.1"))


