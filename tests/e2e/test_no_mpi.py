"""Without an MPI library (``pip install -e .`` only, no ``mpich``): scripts
run with plain ``python``, on virtual ranks, and through ``spinn map``;
``spinn run -n 2`` says how to get an MPI. Checked in a venv of its own."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory):
    venv = tmp_path_factory.mktemp("no-mpi") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(ROOT)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run([str(python), "-m", "pip", "list"], capture_output=True, text=True)
    assert "mpich" not in listed.stdout.lower() and "mpi4py" in listed.stdout
    return venv


def run(venv, *args, env=None):
    environment = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/"),
                   "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([str(a) for a in args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_plain_python_and_virtual_ranks_run(bare_venv):
    python = bare_venv / "bin" / "python"
    outputs = []
    for env in ({}, {"SPINN_VIRTUAL_RANKS": "2"}):
        proc = run(bare_venv, python, "examples/cuba.py", "--tstop", "30", env=env)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert "on 1 rank(s)" in outputs[0] and "on 2 rank(s)" in outputs[1]
    spikes = [line for out in outputs for line in out.splitlines() if line.startswith("CUBA:")]
    assert len(spikes) == 2 and spikes[0] == spikes[1]


@pytest.mark.slow
def test_spinn_map_works_and_spinn_run_says_how_to_get_mpi(bare_venv):
    spinn = bare_venv / "bin" / "spinn"
    mapped = run(bare_venv, spinn, "map", "-n", "4", "examples/cuba.py")
    assert mapped.returncode == 0, mapped.stderr
    assert "on 4 ranks" in mapped.stdout
    launched = run(bare_venv, spinn, "run", "-n", "2", "examples/cuba.py", "--tstop", "10")
    assert launched.returncode != 0
    assert "pip install mpich" in launched.stderr


@pytest.mark.slow
def test_processes_started_by_a_launcher_refuse_to_run_alone(bare_venv):
    """Under a launcher (PMI_SIZE=2) a process that cannot load MPI stops with
    a message instead of simulating the whole network by itself."""
    python = bare_venv / "bin" / "python"
    proc = run(bare_venv, python, "examples/cuba.py", "--tstop", "10", env={"PMI_SIZE": "2"})
    assert proc.returncode != 0
    assert "cannot load an MPI library" in proc.stderr and "pip install mpich" in proc.stderr
