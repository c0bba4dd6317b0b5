"""PyNN's own system-test scenarios (``test/system/scenarios`` in the pyNN 0.13.0
sdist), run against spinn, one pytest test per scenario.

Nothing of PyNN's is copied or edited: the scenarios package is imported from the
unpacked sdist (see ``sdist.py``) under the name ``pynn_scenarios`` after its
``fixtures.run_with_simulators`` has been replaced by a decorator that only records the
scenario function, whatever simulators PyNN lists for it. Each recorded scenario is then
called here with ``sim`` = ``pyNN.spinn`` (which is ``spinn``).

Three scenarios simulate 10-100 s and are marked ``slow`` (``SLOW``); ``-m "not slow"``
leaves them out. Scenarios spinn does not (yet) pass are listed in ``KNOWN_FAILURES`` with the reason;
they run as ``xfail(strict=True)``, so fixing one turns its xfail into a failure that
asks for the entry to be removed.
"""
import importlib
import inspect

import pytest

from .sdist import import_as_package, pynn_sdist

SCENARIOS = pynn_sdist() / "test" / "system" / "scenarios"

# "module::function" -> why spinn does not pass it
KNOWN_FAILURES = {
}

# "module::function" -> why it is marked slow (each takes well over 10 s)
SLOW = {
    "test_cell_types::test_SpikeSourcePoisson": "100 s of simulated time (10^6 steps)",
    "test_cell_types::test_SpikeSourcePoissonRefractory":
        "100 s of simulated time (10^6 steps)",
    "test_scenario3::test_scenario3":
        "10 s of STDP from 100 Poisson inputs; also tests/integration/test_scenario3.py",
}


_REGISTRY = []


def _collect():
    """The scenario functions, in file order: those pytest would collect from PyNN's
    modules (named ``test*``; e.g. ``test_cell_types.issue367`` is decorated but not a
    test)."""
    if _REGISTRY:
        return _REGISTRY
    package = import_as_package("pynn_scenarios", SCENARIOS)
    fixtures = importlib.import_module(f"{package.__name__}.fixtures")
    registry = []

    def run_with_simulators(*sim_names):
        def record(function):
            registry.append(function)
            return function
        return record

    fixtures.run_with_simulators = run_with_simulators
    for path in sorted(SCENARIOS.glob("test_*.py")):
        importlib.import_module(f"{package.__name__}.{path.stem}")
    _REGISTRY.extend(f for f in registry if f.__name__.startswith("test"))
    return _REGISTRY


def _params():
    params = []
    for function in _collect():
        name = f"{function.__module__.rsplit('.', 1)[-1]}::{function.__name__}"
        marks = []
        if name in KNOWN_FAILURES:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name]))
        if name in SLOW:
            marks.append(pytest.mark.slow)
        params.append(pytest.param(function, id=name, marks=marks))
    return params


@pytest.fixture
def sim(tmp_path, monkeypatch):
    """pyNN.spinn, in a temporary working directory: some scenarios write files
    relative to it (test_record_with_filename writes Results/...)."""
    monkeypatch.chdir(tmp_path)
    import pyNN.spinn
    yield pyNN.spinn
    try:
        pyNN.spinn.end()
    except Exception:
        pass


@pytest.mark.parametrize("scenario", _params())
def test_scenario(scenario, sim):
    kwargs = {"sim": sim}
    if "plot_figure" in inspect.signature(scenario).parameters:
        kwargs["plot_figure"] = False
    scenario(**kwargs)


def test_every_known_failure_is_a_scenario():
    names = {f"{f.__module__.rsplit('.', 1)[-1]}::{f.__name__}" for f in _collect()}
    assert set(KNOWN_FAILURES) <= names
    assert set(SLOW) <= names
