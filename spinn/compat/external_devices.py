"""sPyNNaker's ``external_devices``: live input and output between a running
simulation and the host or robots.

spinn runs as a batch of MPI ranks and has none of it yet: every name here
raises NotImplementedError naming the missing feature (a script that only
imports the module still runs).
"""
from ._unsupported import unsupported

_LIVE = "live spike input/output with the host"
_DEVICE = "external hardware devices"
_MISSING = {
    "SpikeInjector": _LIVE,
    "activate_live_output_for": _LIVE,
    "activate_live_output_to": _LIVE,
    "LivePacketGather": _LIVE,
    "SpynnakerLiveSpikesConnection": _LIVE,
    "SpynnakerPoissonControlConnection": _LIVE,
    "add_poisson_live_rate_control": _LIVE,
    "add_database_socket_address": _LIVE,
    "register_database_notification_request": _LIVE,
    "EIEIOType": _LIVE,
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
