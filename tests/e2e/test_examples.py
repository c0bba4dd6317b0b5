"""Real user scripts under `spinn run -n 1/2/3`: identical spikes, summary printed."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def spinn_run(n, script, *args, options=(), timeout=300):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("SPINN_VIRTUAL_RANKS", None)
    cmd = [sys.executable, "-m", "launch.cli", "run", "-n", str(n), *options,
           str(ROOT / script), *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.parametrize("script,extra", [
    ("examples/cuba.py", ["--tstop", "150"]),
    ("examples/poisson_input.py", ["--tstop", "200"]),
])
def test_examples_identical_on_1_2_3_ranks(tmp_path, script, extra):
    results = []
    for n, npc in ((1, "256"), (2, "64"), (3, "100")):
        out = tmp_path / f"spikes{n}.npz"
        stdout = spinn_run(n, script, *extra, "--npc", npc, "--spikes", str(out))
        assert f"on {n} rank(s)" in stdout            # the summary rank 0 prints
        assert "real-time factor" in stdout
        assert stdout.count("real-time factor") == 1  # printed once, by rank 0 only
        assert stdout.count("spinn: slowest rank") == 1
        results.append(np.load(out))
    assert results[0]["times"].size > 0
    for other in results[1:]:
        np.testing.assert_array_equal(results[0]["index"], other["index"])
        np.testing.assert_array_equal(results[0]["times"], other["times"])


def test_quiet_run_prints_no_summary():
    stdout = spinn_run(1, "examples/poisson_input.py", "--tstop", "20", options=["--quiet"])
    assert "spinn: " not in stdout
    assert "poisson_input:" in stdout              # the script's own output stays


def test_readme_quickstart_on_two_ranks(tmp_path):
    """The README's script: a lively network, printed once, files written once."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("SPINN_VIRTUAL_RANKS", None)
    proc = subprocess.run([sys.executable, "-m", "launch.cli", "run", "-n", "2",
                           str(ROOT / "examples" / "quickstart.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "spikes from 1000 cells" in line]
    assert len(lines) == 1
    n = int(lines[0].split()[0])
    assert 10_000 < n < 60_000                       # 10-60 Hz: the network fires
    assert (tmp_path / "quickstart.pkl").exists()


def test_nir_demo_on_1_and_2_ranks():
    """examples/nir_demo.py (a NIR file through spinn.nir): the same classification
    line, printed once, on 1 and 2 ranks."""
    pytest.importorskip("nir")
    lines = []
    for n in (1, 2):
        stdout = spinn_run(n, "examples/nir_demo.py")
        found = [ln for ln in stdout.splitlines() if ln.startswith("output spikes per class")]
        assert len(found) == 1
        assert f"on {n} rank(s)" in found[0]
        lines.append(found[0].split("; load")[0])
    assert lines[0] == lines[1]
    assert "[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]" not in lines[0]
