"""The error for a sPyNNaker name spinn does not have."""


class UnsupportedFeature(NotImplementedError):
    """A sPyNNaker name (model, device, call) spinn does not implement.

    A NotImplementedError rather than an AttributeError so that ``from
    pyNN.spiNNaker import X`` shows this message instead of Python's generic
    "cannot import name"."""


def unsupported(name: str, feature: str) -> UnsupportedFeature:
    return UnsupportedFeature(
        f"{name}: {feature} is not supported by spinn (sPyNNaker-compatible mode); "
        "see the spinn.compat docstring for what is")
