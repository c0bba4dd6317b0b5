"""Stochastic synapses (SimpleStochasticSynapse, StochasticTsodyksMarkramSynapse,
MultiQuantalSynapse), per-synapse Tsodyks-Markram parameters and NativeRNG under
real ``mpiexec -n 1/2`` and plain ``python``: bitwise the same results, seeded
or not."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from launch.launcher import find_launcher

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "e2e" / "scripts" / "synapse_dynamics.py"


def run(n, out, *args):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("SPINN_VIRTUAL_RANKS", None)
    cmd = ([sys.executable, str(SCRIPT)] if n is None else
           [find_launcher("mpiexec"), "-n", str(n), sys.executable, "-m", "mpi4py",
            str(SCRIPT)])
    cmd += [str(out), *map(str, args)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return dict(np.load(out))


def same(a, b, what):
    a, b = dict(a), dict(b)
    a.pop("n_processes"), b.pop("n_processes")
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=f"{key} ({what})")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [(), (4242,)], ids=["unseeded", "seeded"])
def test_same_on_one_and_two_processes(tmp_path, seed):
    plain = run(None, tmp_path / "plain.npz", *seed)
    one = run(1, tmp_path / "one.npz", *seed)
    two = run(2, tmp_path / "two.npz", *seed)
    assert int(two["n_processes"]) == 2
    same(plain, one, "python and mpiexec -n 1")
    same(plain, two, "python and mpiexec -n 2")
    # what was simulated is what it should be: transmissions are whole spikes,
    # p and U drawn per synapse, Projection.set applied between runs
    v = plain["v"]
    assert np.ptp(v) > 5.0
    assert 0.2 <= plain["coin"][:, 3].min() and plain["coin"][:, 3].max() <= 0.8
    assert np.unique(plain["coin"][:, 3]).size == plain["coin"].shape[0]
    assert np.all((plain["stm"][:, 2] >= 0.5) & (plain["stm"][:, 2] <= 0.6))
    assert np.all(plain["mq"][:, 2] == 4.0) and np.unique(plain["mq"][:, 3]).size > 3


@pytest.mark.slow
def test_the_seed_changes_the_draws(tmp_path):
    a = run(None, tmp_path / "a.npz")
    b = run(None, tmp_path / "b.npz", 4242)
    assert not np.array_equal(a["v"], b["v"])
    assert not np.array_equal(a["native_draws"], b["native_draws"])
