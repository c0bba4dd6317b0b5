"""Runs tests/mpi under a real `mpiexec -n 2`, so that a plain `pytest` covers them too."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from launch.launcher import LauncherNotFoundError, find_launcher

ROOT = Path(__file__).resolve().parents[2]
MPI_TESTS = ROOT / "tests" / "mpi"
TIMEOUT_SECONDS = 600
# Set by mpiexec/srun in every rank: then we are already inside the MPI suite.
RANK_VARIABLES = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "MPI_LOCALRANKID")


@pytest.mark.slow
def test_mpi_suite_passes_on_two_ranks(request):
    if request.config.getoption("--with-mpi", default=False) or any(
        variable in os.environ for variable in RANK_VARIABLES
    ):
        pytest.skip("already running under MPI")
    test_files = [*MPI_TESTS.rglob("test_*.py"), *MPI_TESTS.rglob("*_test.py")]
    if not test_files:
        pytest.skip("tests/mpi has no test files yet")
    try:
        mpiexec = find_launcher("mpiexec")
    except LauncherNotFoundError as error:
        pytest.fail(str(error))
    command = [mpiexec, "-n", "2", sys.executable, "-m", "mpi4py", "-m", "pytest", "--with-mpi",
               "-q", "-p", "no:cacheprovider", "tests/mpi"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("SPINN_VIRTUAL_RANKS", None)
    process = subprocess.Popen(command, cwd=ROOT, env=env, text=True, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = process.communicate(timeout=TIMEOUT_SECONDS)
        problem = f"exited with {process.returncode}" if process.returncode else None
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)  # mpiexec then kills every rank
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        problem = f"still running after {TIMEOUT_SECONDS} s"
    if problem:
        tail = "\n".join(output.splitlines()[-200:])
        pytest.fail(f"{' '.join(command)} {problem}; last 200 lines:\n{tail}", pytrace=False)
