"""PyNN's common-layer unit test classes re-run with spinn as the simulator.

The test classes of the modules below are written against ``pyNN.mock`` but take the
simulator as an argument (``setUp(self, sim=sim)``, ``test_x(self, sim=sim)``): PyNN's
hook for re-running them on a real backend. Here each class gets a subclass whose
``setUp``, ``tearDown`` and test methods are called with ``sim=pyNN.spinn``. Test
methods without a ``sim`` argument test only the mock and are left out.

Not part of the default run: set ``SPINN_PYNN_UNITTESTS_SPINN=1``. Measured with
pyNN 0.13.0: 276 tests, 171 pass and 105 fail, mostly because they assert what
``pyNN.mock`` does rather than what PyNN specifies: its ``simulator.state`` patched to
fake several MPI processes (``sim.simulator`` does not exist in spinn), connection lists
in the mock's order or from the mock's random numbers, projections that are never run
("the network has no populations"), a FromFileConnector's ``conn_list``. Real spinn
gaps among them (e.g. Tsodyks-Markram U per synapse, FixedNumberPreConnector without
replacement from too few cells) are the same as the scenarios' ``KNOWN_FAILURES``.
Sorting the 105 into "mock-specific" and "spinn gap" is left to do; ``KNOWN_FAILURES``
below is where the per-test verdicts go.
"""
import os
import functools
import inspect
import unittest

import pytest

from .test_pynn_unittests import load

if os.environ.get("SPINN_PYNN_UNITTESTS_SPINN") != "1":
    pytest.skip("PyNN's mock-based unit tests re-run with spinn are opt-in "
                "(SPINN_PYNN_UNITTESTS_SPINN=1): 105 of 276 fail, mostly on mock internals",
                allow_module_level=True)

PARAMETRISABLE = [
    "test_assembly", "test_connectors_parallel", "test_connectors_serial",
    "test_population", "test_populationview", "test_projection",
    "test_simulation_control",
]

# "module::Class::method" -> reason (xfail, strict)
KNOWN_FAILURES = {
}


def _with_spinn(method):
    @functools.wraps(method)
    def call(self):
        import pyNN.spinn
        return method(self, sim=pyNN.spinn)
    return call


def _spinn_class(module_name, cls):
    attributes = {}
    for name in ("setUp", "tearDown"):
        method = getattr(cls, name)
        if "sim" in inspect.signature(method).parameters:
            attributes[name] = _with_spinn(method)
    for name, method in inspect.getmembers(cls, inspect.isfunction):
        if not name.startswith("test"):
            continue
        if "sim" in inspect.signature(method).parameters:
            wrapped = _with_spinn(method)
            key = f"{module_name}::{cls.__name__}::{name}"
            if key in KNOWN_FAILURES:
                wrapped = pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[key])(wrapped)
            attributes[name] = wrapped
        else:
            attributes[name] = None  # mock-only: not inherited
    return type(f"{cls.__name__}Spinn", (cls,), attributes)


def _expose(namespace):
    for module_name in PARAMETRISABLE:
        module = load(module_name)
        short = module_name[len("test_"):]
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, unittest.TestCase)
                    and value.__module__ == module.__name__):
                namespace[f"Test_{short}__{name}_spinn"] = _spinn_class(module_name, value)


_expose(globals())
