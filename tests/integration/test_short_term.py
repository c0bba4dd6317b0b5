"""Tsodyks-Markram synapses: efficacies against the recurrence, read-back,
rank-count invariance."""
import math

import numpy as np
import pytest

import spinn as sim

TIMES = [10.0, 30.0, 35.0, 40.0, 45.0, 150.0, 152.0]


def tm_run(n_ranks, U, tau_rec, tau_facil, npc=None):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
    if npc:
        sim.set_number_of_neurons_per_core(sim.IF_curr_delta, npc)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=TIMES))
    # nearly no leak: v integrates the delta PSPs, one jump per spike
    tgt = sim.Population(4, sim.IF_curr_delta(tau_m=1e9, v_rest=0.0, v_thresh=1e9,
                                              v_reset=0.0), initial_values={"v": 0.0})
    syn = sim.TsodyksMarkramSynapse(weight=2.0, delay=1.0, U=U, tau_rec=tau_rec,
                                    tau_facil=tau_facil)
    prj = sim.Projection(src, tgt, sim.AllToAllConnector(), syn, receptor_type="excitatory")
    tgt.record("v")
    sim.run(200.0)
    v = np.asarray(tgt.get_data().segments[0].filter(name="v")[0].magnitude).copy()
    U_back = prj.get("U", format="array")
    sim.end()
    return v, U_back


def expected_efficacies(U, tau_rec, tau_facil, w=2.0):
    x, u, last, out = 1.0, 0.0, None, []
    for t in TIMES:
        h = math.inf if last is None else t - last
        x = 1.0 + (x - x * u - 1.0) * math.exp(-h / tau_rec)
        u = U + u * (1 - U) * (math.exp(-h / tau_facil) if tau_facil > 0 else 0.0)
        out.append(w * x * u)
        last = t
    return np.array(out)


@pytest.mark.parametrize("U,tau_rec,tau_facil", [(0.5, 100.0, 0.0),    # depressing
                                                  (0.1, 50.0, 200.0)])  # facilitating
def test_efficacies_follow_the_recurrence(U, tau_rec, tau_facil):
    v, U_back = tm_run(1, U, tau_rec, tau_facil)
    arrivals = [int(round((t + 1.0) / 0.1)) for t in TIMES]
    jumps = np.array([v[i, 0] - v[i - 1, 0] for i in arrivals])
    np.testing.assert_allclose(jumps, expected_efficacies(U, tau_rec, tau_facil), rtol=1e-6)
    np.testing.assert_array_equal(U_back, U)
    if tau_facil == 0.0:
        assert jumps[2] < jumps[1]          # depression within the 200 Hz burst
    else:
        assert jumps[2] > jumps[1]          # facilitation


def test_short_term_rank_invariant():
    ref, _ = tm_run(1, 0.3, 80.0, 30.0)
    v, _ = tm_run(3, 0.3, 80.0, 30.0, npc=1)
    np.testing.assert_array_equal(v, ref)
