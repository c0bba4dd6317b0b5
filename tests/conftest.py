"""Shared pytest configuration.

``tests/mpi`` runs only under MPI: ``mpiexec -n 2 python -m mpi4py -m pytest --with-mpi tests/mpi``
(``tests/e2e/test_mpi_suite.py`` does that from a plain ``pytest``). Without ``--with-mpi`` the
directory is not collected at all, so a plain ``pytest`` never imports mpi4py-dependent tests.
"""
from pathlib import Path

MPI_TESTS = Path(__file__).parent / "mpi"


def pytest_ignore_collect(collection_path, config):
    if config.getoption("--with-mpi", default=False):
        return None  # collect normally
    if collection_path == MPI_TESTS or MPI_TESTS in collection_path.parents:
        return True
    return None


def pytest_configure(config):
    """Recordings stream to files: keep every test run's in a temporary directory
    (inherited by the processes tests start)."""
    import os
    import tempfile
    if "SPINN_OUTPUT_ROOT" not in os.environ:
        os.environ["SPINN_OUTPUT_ROOT"] = tempfile.mkdtemp(prefix="spinn-test-output-")
