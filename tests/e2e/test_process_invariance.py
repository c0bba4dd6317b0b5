"""Whole scripts under real ``mpiexec -n 1/2/3`` (and plain ``python``) give
bitwise-identical results, as NEST tests its MPI layer: unseeded random values,
connectors run by PyNN's own code and spatial ones, recording more cells after
a run, changes between runs followed by ``reset()``."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from launch.launcher import find_launcher

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "e2e" / "scripts" / "invariance.py"


def run(n, out):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("SPINN_VIRTUAL_RANKS", None)
    if n is None:
        cmd = [sys.executable, str(SCRIPT), str(out)]
    else:
        cmd = [find_launcher("mpiexec"), "-n", str(n), sys.executable, "-m", "mpi4py",
               str(SCRIPT), str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return dict(np.load(out))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("invariance")
    return {n: run(n, base / f"out-{n}.npz") for n in (None, 1, 2, 3)}


@pytest.mark.slow
def test_results_identical_on_any_number_of_processes(results):
    reference = results[None]
    assert int(reference["n_processes"]) == 1
    for n in (1, 2, 3):
        assert int(results[n]["n_processes"]) == n
        for key, value in reference.items():
            if key != "n_processes":
                np.testing.assert_array_equal(results[n][key], value, err_msg=f"{key} on {n}")


@pytest.mark.slow
def test_results_mean_what_they_should(results):
    r = results[3]
    assert r["unseeded_spikes"].size > 10
    assert 15.0 <= r["unseeded_tau_m"].min() and r["unseeded_tau_m"].max() <= 25.0
    assert len(np.unique(r["unseeded_tau_m"])) == r["unseeded_tau_m"].size
    assert r["generic_list"].shape[0] > 0 and r["spatial_list"].shape[0] > 0
    # delays of the spatial projection follow 0.5 + 0.05 d with d from the positions
    assert np.all(r["spatial_list"][:, 3] >= 0.5)
    # recording cells 2-5 from 5 ms on and the scattered 7, 6 from 10 ms on: NaN
    # before, values after, nothing lost for 0-1
    v = r["record_after_run_v"]
    assert v.shape == (121, 8)
    assert not np.isnan(v[:, :2]).any()
    assert np.isnan(v[:50, 2:]).all() and not np.isnan(v[50:, 2:6]).any()
    assert np.isnan(v[:100, 6:]).all() and not np.isnan(v[100:, 6:]).any()
    assert r["record_after_run_spikes"].size > 0
    # Projection.set survives reset(); learned weights go back to their initial values
    np.testing.assert_array_equal(r["set_weights_after_reset"], r["set_weights_before_reset"])
    assert len(np.unique(r["set_weights_after_reset"][:, 2])) > 100
    assert not np.array_equal(r["stdp_weights_before_reset"], r["stdp_weights_initial"])
    np.testing.assert_array_equal(r["stdp_weights_at_reset"], r["stdp_weights_initial"])
    # after reset the initial values are those initialize() set during the first segment
    assert np.all(r["reset_v0"][0] == -65.0)
    assert np.all((r["reset_v1"][0] >= -70.0) & (r["reset_v1"][0] <= -60.0))
