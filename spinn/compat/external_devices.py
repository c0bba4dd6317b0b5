"""sPyNNaker's ``external_devices``: live input and output between a running
simulation and the host or robots.

The live spike I/O of :mod:`spinn.live` answers to sPyNNaker's names here
(``SpikeInjector``, ``activate_live_output_for``,
``SpynnakerLiveSpikesConnection``, ``register_database_notification_request``).
The rest (hardware devices, Poisson rate control, EIEIO packets, running until
stopped) raises NotImplementedError naming the missing feature (a script that
only imports the module still runs).
"""
from .. import live as _live
from ._unsupported import unsupported

SpikeInjector = _live.SpikeInjector
activate_live_output_for = _live.activate_live_output_for
SpynnakerLiveSpikesConnection = _live.LiveSpikesConnection
register_database_notification_request = _live.register_database_notification_request

_LIVE = "live spike input/output with the host"
_DEVICE = "external hardware devices"
_MISSING = {
    "activate_live_output_to": "live output to a device population (use activate_live_output_for)",
    "LivePacketGather": _LIVE + " through a gatherer population (use activate_live_output_for)",
    "SpynnakerPoissonControlConnection": "live control of Poisson rates",
    "add_poisson_live_rate_control": "live control of Poisson rates",
    "add_database_socket_address": _LIVE + " (use register_database_notification_request)",
    "EIEIOType": "EIEIO packets (spinn's wire format is in spinn.livewire)",
    "run_forever": "running until stopped from the host",
    "request_stop": "running until stopped from the host",
    "ExternalCochleaDevice": _DEVICE,
    "ExternalFPGARetinaDevice": _DEVICE,
    "MunichRetinaDevice": _DEVICE,
    "MunichMotorDevice": _DEVICE,
    "ArbitraryFPGADevice": _DEVICE,
    "PushBotEthernetRetinaDevice": _DEVICE,
    "PushBotEthernetMotorDevice": _DEVICE,
    "SPIFRetinaDevice": _DEVICE,
    "SPIFOutputDevice": _DEVICE,
    "ThresholdTypeMulticastDeviceControl": _DEVICE,
}


def __getattr__(attr):
    if attr in _MISSING:
        raise unsupported(f"external_devices.{attr}", _MISSING[attr])
    raise AttributeError(f"module 'spinn.compat.external_devices' has no attribute {attr!r}")
