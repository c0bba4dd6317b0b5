"""sPyNNaker's current-based Izhikevich neuron (spinn.extra_models)."""
import numpy as np

import spinn as sim


def _run(n_ranks=1):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
    sim.set_number_of_neurons_per_core(sim.extra_models.Izhikevich_curr_exp, 2)
    cur = sim.Population(3, sim.extra_models.Izhikevich_curr_exp(i_offset=10.0))
    std = sim.Population(3, sim.Izhikevich(i_offset=0.01))
    quiet = sim.Population(3, sim.extra_models.Izhikevich_curr_exp(i_offset=0.0))
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[20.0, 22.0, 24.0]))
    sim.Projection(src, quiet, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=15.0, delay=1.0), receptor_type="excitatory")
    for p in (cur, std, quiet):
        p.record(["spikes", "v"])
    sim.run(200.0)
    out = [[st.magnitude.copy() for st in p.get_data().segments[0].spiketrains]
           for p in (cur, std, quiet)]
    v = np.asarray(quiet.get_data().segments[0].filter(name="v")[0].magnitude).copy()
    sim.end()
    return out, v


def test_current_based_izhikevich():
    (cur, std, quiet), v = _run()
    # i_offset in nA used as is equals the standard model's pA-scaled input
    for a, b in zip(cur, std):
        np.testing.assert_allclose(a, b, atol=1e-9)
    assert len(cur[0]) > 3
    # exponential current synapses: v moves only after the first input arrives
    assert np.ptp(v[:210, 0]) < 1e-6
    assert v[220:260, 0].max() > v[205, 0] + 1.0
    assert sum(len(t) for t in quiet) > 0


def test_current_based_izhikevich_rank_invariant():
    a, va = _run(1)
    b, vb = _run(3)
    np.testing.assert_array_equal(va, vb)
    for pa, pb in zip(a, b):
        for x, y in zip(pa, pb):
            np.testing.assert_array_equal(x, y)
