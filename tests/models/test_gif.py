"""GIF_cond_exp (:mod:`spinn.models.gif`): the deterministic limit against the
closed form of a leaky membrane, the adaptation components' closed forms, the
escape-noise probability, the array parameters, and the same spikes on 1 and
2 MPI processes. (Against NEST's gif_cond_exp through pyNN.nest with
spike_precision='on_grid', PyNN's gif_neuron example, dt 0.01 ms: the two
near-deterministic neurons (delta_v = 1e-6) fire at the same times, v within
1.5e-14 mV, v_t and i_eta equal; measured by hand, NEST is not a test
dependency.)"""
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spinn as sim

from .recorded import signal, spikes

SCRIPT = Path(__file__).parent / "scripts" / "gif_ranks.py"
ROOT = Path(__file__).resolve().parents[2]


def test_deterministic_limit_and_adaptation(fresh):
    """delta_v -> 0: a spike in the first step that ends at or above v_t; the
    first one at the closed-form crossing of the leaky membrane; then i_eta and
    v_t are sums of exponentials of the spike's age, v is v_reset through the
    refractory steps."""
    tau_m, cm, v_rest, i, vt = 20.0, 1.0, -65.0, 0.6, -55.0
    cell = sim.Population(1, sim.GIF_cond_exp(
        tau_m=tau_m, cm=cm, v_rest=v_rest, v_reset=-70.0, i_offset=i, v_t_star=vt,
        delta_v=1e-6, lambda0=1.0, tau_refrac=3.0, tau_eta=(2.0, 30.0), a_eta=(0.05, 0.02),
        tau_gamma=(5.0, 50.0, 200.0), a_gamma=(3.0, 1.0, 0.5)),
        initial_values={"v": v_rest, "v_t": vt})
    assert cell.celltype.engine_model == "GIF_cond_exp:2:3"
    np.testing.assert_array_equal(cell.get("tau_eta").value, [2.0, 30.0])
    cell.record(["spikes", "v", "i_eta", "v_t"])
    sim.run(200.0)
    train = spikes(cell)[0]
    v, i_eta, v_t = (signal(cell, n)[:, 0] for n in ("v", "i_eta", "v_t"))
    t = np.arange(v.size) * 0.1
    crossing = -tau_m * math.log(1.0 - (vt - v_rest) / (i * tau_m / cm))
    assert train.size >= 3
    assert crossing <= train[0] < crossing + 0.1 + 1e-9
    np.testing.assert_allclose(v[:int(round(train[0] / 0.1)) + 1][-1] >= vt, True)
    # the components jump at the end of the spike's step: the sums show them one
    # step later (they are the values a step starts with)
    age = t[:, None] - train[None, :] - 0.1
    past = age > -1e-9
    a = np.where(past, age, 0.0)
    expected_eta = np.where(past, 0.05 * np.exp(-a / 2.0) + 0.02 * np.exp(-a / 30.0), 0).sum(1)
    expected_vt = vt + np.where(past, 3.0 * np.exp(-a / 5.0) + np.exp(-a / 50.0)
                                + 0.5 * np.exp(-a / 200.0), 0.0).sum(1)
    np.testing.assert_allclose(i_eta, expected_eta, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(v_t, expected_vt, rtol=1e-12)
    for s in train:          # v_reset at the end of each of the 30 refractory steps
        k = int(round(s / 0.1))
        np.testing.assert_array_equal(v[k + 1:k + 31], -70.0)
        assert v[k + 31] != -70.0


def test_escape_noise_probability(fresh):
    """v held at a fixed distance below v_t (no adaptation, no refractory
    period, so no reset either, as in NEST): each step is a Bernoulli trial
    with p = 1 - exp(-lambda0 exp((v - v_t)/delta_v) dt)."""
    n, steps = 400, 2000
    cell = sim.Population(n, sim.GIF_cond_exp(
        v_rest=-60.0, i_offset=0.0, v_t_star=-58.0, delta_v=2.0, lambda0=200.0,
        tau_refrac=0.0, a_eta=(0.0, 0.0, 0.0), a_gamma=(0.0, 0.0, 0.0)),
        initial_values={"v": -60.0, "v_t": -58.0})
    cell.record("spikes")
    sim.run(steps * 0.1)
    counts = np.array([t.size for t in spikes(cell)])
    p = -math.expm1(-0.2 * math.exp(-1.0) * 0.1)
    mean, sd = n * steps * p, math.sqrt(n * steps * p * (1 - p))
    assert abs(counts.sum() - mean) < 4 * sd
    # the numbers differ between neurons and steps
    assert len(np.unique(counts)) > 10


def test_unequal_components_are_refused(fresh):
    with pytest.raises(Exception, match="tau_eta has 3 components, a_eta 2"):
        sim.Population(1, sim.GIF_cond_exp(a_eta=(1.0, 2.0)))


def _run(n, out):
    from launch.launcher import find_launcher
    env = dict(os.environ, PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.pop("SPINN_VIRTUAL_RANKS", None)
    cmd = [find_launcher("mpiexec"), "-n", str(n), sys.executable, "-m", "mpi4py",
           str(SCRIPT), str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return dict(np.load(out))


def test_same_spikes_on_one_and_two_processes(tmp_path):
    one, two = _run(1, tmp_path / "one.npz"), _run(2, tmp_path / "two.npz")
    assert int(one["n_processes"]) == 1 and int(two["n_processes"]) == 2
    assert one["times"].size > 50
    for key in ("times", "counts", "v"):
        np.testing.assert_array_equal(one[key], two[key])
