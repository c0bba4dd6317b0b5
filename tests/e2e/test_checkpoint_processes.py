"""Checkpoints written by one number of MPI processes and restored by another,
and a network grown between runs, under real ``mpiexec``: bitwise the
uninterrupted run's results."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from launch.launcher import find_launcher

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "e2e" / "scripts" / "checkpoint_run.py"


def run(n, *args):
    env = dict(os.environ, PYTHONUNBUFFERED="1", SPINN_QUIET="1")
    env.pop("SPINN_VIRTUAL_RANKS", None)
    cmd = ([sys.executable, str(SCRIPT)] if n is None else
           [find_launcher("mpiexec"), "-n", str(n), sys.executable, "-m", "mpi4py", str(SCRIPT)])
    cmd += [str(a) for a in args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"


def same(a, b, what):
    a, b = dict(np.load(a)), dict(np.load(b))
    a.pop("n_processes"), b.pop("n_processes")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=f"{key} ({what})")


def test_checkpoint_of_two_processes_restored_by_one_and_three(tmp_path):
    run(None, "full", tmp_path / "full.npz")
    run(2, "save", tmp_path / "ck")
    run(None, "restore", tmp_path / "ck", tmp_path / "r1.npz")
    run(3, "restore", tmp_path / "ck", tmp_path / "r3.npz")
    same(tmp_path / "full.npz", tmp_path / "r1.npz", "saved by 2, restored by 1")
    same(tmp_path / "full.npz", tmp_path / "r3.npz", "saved by 2, restored by 3")


def test_growth_is_the_same_on_one_two_and_three_processes(tmp_path):
    for n in (None, 2, 3):
        run(n, "grow", tmp_path / f"grow-{n}.npz")
    same(tmp_path / "grow-None.npz", tmp_path / "grow-2.npz", "2 processes")
    same(tmp_path / "grow-None.npz", tmp_path / "grow-3.npz", "3 processes")


def test_spinn_run_checkpoint_every(tmp_path):
    """`spinn run --checkpoint-every 20 --checkpoint DIR`: the run stops at 20,
    40 and 60 ms to write DIR, and its results do not change."""
    import json
    env = dict(os.environ, SPINN_QUIET="1")
    env.pop("SPINN_VIRTUAL_RANKS", None)
    run(None, "full", tmp_path / "plain.npz")
    cmd = [sys.executable, "-m", "launch.cli", "run", "-n", "2", "--checkpoint-every", "20",
           "--checkpoint", str(tmp_path / "periodic"), str(SCRIPT), "full",
           str(tmp_path / "periodic.npz")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "periodic" / "manifest.json").read_text())
    assert (manifest["step"], manifest["n_ranks"]) == (600, 2)
    same(tmp_path / "plain.npz", tmp_path / "periodic.npz", "with periodic checkpoints")
    bad = subprocess.run([sys.executable, "-m", "launch.cli", "run", "--checkpoint-every", "-1",
                          str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "must be a positive number" in bad.stderr
