"""Changing parameters, spike times, rates and state between runs."""
import numpy as np
import pytest

import spinn as sim


def run_changes(n_ranks):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 2)
    cells = sim.Population(5, sim.IF_curr_exp(i_offset=0.0, tau_refrac=2.0), label="cells")
    times = sim.Population(2, sim.SpikeSourceArray(spike_times=[[5.0], [6.0]]), label="times")
    noise = sim.Population(4, sim.SpikeSourcePoisson(rate=0.0), label="noise")
    for pop in (cells, times, noise):
        pop.record("spikes")
    cells.record("v")
    sim.run(20.0)
    cells[1:3].set(i_offset=2.0)                  # a view: only cells 1 and 2
    times.set(spike_times=[sim.Sequence([25.0, 30.0]), sim.Sequence([3.0, 33.0])])
    noise.set(rate=500.0)
    cells[4:5].initialize(v=-50.5)                # the current value, not only for reset
    sim.run(20.0)
    out = {p.label: [st.magnitude.copy() for st in p.get_data().segments[0].spiketrains]
           for p in (cells, times, noise)}
    v = np.asarray(cells.get_data().segments[0].filter(name="v")[0].magnitude).copy()
    sim.end()
    return out, v


def test_changes_take_effect_from_the_next_run():
    out, v = run_changes(1)
    cells, times, noise = out["cells"], out["times"], out["noise"]
    assert all(len(cells[i]) == 0 for i in (0, 3))          # unchanged cells stay silent
    assert all(len(cells[i]) > 0 and cells[i][0] > 20.0 for i in (1, 2))
    np.testing.assert_allclose(times[0], [5.0, 25.0, 30.0])
    np.testing.assert_allclose(times[1], [6.0, 33.0])     # 3.0 is in the past: ignored
    assert all(len(t) > 2 and t.min() > 20.0 for t in noise)
    assert v[200, 4] == pytest.approx(-65.0)
    assert v[201, 4] > -51.0                               # set to -50.5, then decaying


def test_changes_are_rank_invariant():
    out1, v1 = run_changes(1)
    out3, v3 = run_changes(3)
    np.testing.assert_array_equal(v1, v3)
    for label in out1:
        for a, b in zip(out1[label], out3[label]):
            np.testing.assert_array_equal(a, b)
