"""Make ``import pyNN.spinn`` resolve to the ``spinn`` package.

PyNN's ``get_simulator()`` and its scenario tests import ``pyNN.<name>``, but
``pyNN`` is a regular package: a third-party distribution cannot add a
submodule to it without writing into PyNN's install directory. Instead, a
one-line ``spinn_pynn_alias.pth`` file installed into site-packages imports
this top-level module (deliberately outside the ``spinn`` package, so that
start-up stays cheap) at interpreter start-up, and this module puts a tiny meta-path
finder in front of the import system. The finder answers only for the name
``pyNN.spinn``: it imports ``spinn`` and hands that same module object back,
so ``pyNN.spinn is spinn``. Nothing is imported eagerly: PyNN, numpy and spinn
are loaded only when somebody imports ``pyNN.spinn``.

Only on request, the finder also answers for ``pyNN.spiNNaker`` (the name
sPyNNaker installs) with :mod:`spinn.compat`, spinn's sPyNNaker dialect:
when the environment variable ``SPINN_SPINNAKER_COMPAT`` is ``1`` (``spinn
run --spinnaker-compat`` sets it). Never by default: a real sPyNNaker
installation keeps its name.
"""
import importlib
import importlib.abc
import importlib.util
import os
import sys

ALIAS = "pyNN.spinn"
TARGET = "spinn"
#: sPyNNaker's module name, answered only when COMPAT_VARIABLE is "1"
SPINNAKER_ALIAS = "pyNN.spiNNaker"
SPINNAKER_TARGET = "spinn.compat"
COMPAT_VARIABLE = "SPINN_SPINNAKER_COMPAT"


def _target(fullname):
    if fullname == ALIAS:
        return TARGET
    if fullname == SPINNAKER_ALIAS and os.environ.get(COMPAT_VARIABLE) == "1":
        return SPINNAKER_TARGET
    return None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, alias, target):
        self.alias, self.target = alias, target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        sys.modules[self.alias] = module
        return module

    def exec_module(self, module):
        # The target module has already been executed by import_module.
        pass


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        name = _target(fullname)
        if name is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(fullname, name))


def install():
    """Install the finder once (idempotent)."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())


install()
