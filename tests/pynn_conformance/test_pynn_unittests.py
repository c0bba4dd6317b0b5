"""PyNN's common-layer unit tests (``test/unittests`` in the pyNN 0.13.0 sdist).

spinn's PyNN layer is PyNN's common layer (``pyNN.common``, ``pyNN.connectors``,
``pyNN.parameters``, ``pyNN.space`` ...) plus spinn's backend classes, so PyNN's own unit
tests of that layer are run here against the installed PyNN, imported from the unpacked
sdist (``sdist.py``) and exposed in this module's namespace so that pytest collects them;
nothing of PyNN's is copied or edited.

Which run, and why:

* ``BACKEND_INDEPENDENT``: run unchanged. Most of them drive the common layer through
  ``pyNN.mock`` (PyNN's do-nothing backend), which is exactly what makes them backend
  independent: they check the common layer spinn is built on, not a simulator.
* ``test_nest``, ``test_neuron``, ``test_brian``: tests of those backends' own modules;
  not collected.
* ``test_morphology``: multicompartment morphologies (morphio / libNeuroML / NEURON);
  spinn has point neurons only; not collected.
* With spinn: the mock-based test classes take the simulator as an argument
  (``setUp(self, sim=sim)``, ``def test_x(self, sim=sim)``), the hook PyNN keeps for
  re-running them on a real backend. ``test_pynn_unittests_spinn.py`` does that.
"""
import importlib
import inspect
import unittest

from .sdist import import_as_package, pynn_sdist

UNITTESTS = pynn_sdist() / "test" / "unittests"

BACKEND_INDEPENDENT = [
    "test_assembly", "test_connectors_parallel", "test_connectors_serial", "test_core",
    "test_descriptions", "test_files", "test_idmixin", "test_lowlevelapi",
    "test_parameters", "test_population", "test_populationview", "test_projection",
    "test_random", "test_recording", "test_simulation_control", "test_space",
    "test_standardmodels", "test_utility_functions",
]


def load(module_name):
    package = import_as_package("pynn_unittests", UNITTESTS)
    return importlib.import_module(f"{package.__name__}.{module_name}")


def _expose(namespace):
    for module_name in BACKEND_INDEPENDENT:
        module = load(module_name)
        short = module_name[len("test_"):]
        for name, value in vars(module).items():
            if getattr(value, "__module__", None) != module.__name__:
                continue  # imported into the module, e.g. unittest.TestCase or a mock
            if inspect.isclass(value) and issubclass(value, unittest.TestCase):
                namespace[f"Test_{short}__{name}"] = value
            elif inspect.isfunction(value) and name.startswith("test"):
                namespace[f"test_{short}__{name}"] = value


_expose(globals())
