"""When a SpikeSourceArray's spikes are sent and recorded
(:func:`spinn.models.sources.emission_steps`): as NEST's spike_generator with
on-grid neurons, a time is sent at the end of the step it falls in (an
off-grid time at the next grid point), a time of 0 is refused; with
``spike_precision='off_grid'`` the spikes are recorded at their given times
(the neurons still receive them on the grid). With pyNN.nest,
spike_precision='on_grid', dt 0.05 ms, times 0.075, 10.025, 12.34 give the
recorded spikes 0.1 | 10.05, 12.35 and the same v of a target neuron as here."""
import numpy as np
import pytest

import spinn as sim


def trains(pop):
    return [list(np.round(t.magnitude, 12)) for t in
            pop.get_data("spikes", clear=True).segments[0].spiketrains]


def test_off_grid_times_are_sent_at_the_next_grid_point():
    sim.setup(timestep=0.05, quiet=True)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[0.075, 10.025, 12.34],
                                                              [0.1, 0.3, 0.30000000000000004]]))
    cell = sim.Population(1, sim.IF_curr_exp(tau_syn_E=1.0))
    sim.Projection(src[0:1], cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=5.0,
                                                                            delay=0.05))
    src.record("spikes")
    cell.record("v")
    sim.run(10.0)
    first = trains(src)
    v = cell.get_data("v").segments[0].filter(name="v")[0].magnitude[:, 0]
    sim.run(10.0)
    second = trains(src)
    sim.end()
    assert first == [[0.1], [0.1, 0.3, 0.3]]
    assert second == [[10.05, 12.35], []]
    # sent at 0.1 ms, arrives 0.05 ms later: v moves in the step ending at 0.2 ms
    np.testing.assert_array_equal(v[:4], -65.0)
    assert v[4] > -65.0


def test_off_grid_precision_records_the_given_times():
    sim.setup(timestep=0.1, quiet=True, spike_precision="off_grid")
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=[[0.01, 0.02, 0.25, 5.0],
                                                              [0.1, 4.96],
                                                              []]))
    shared = sim.Population(2, sim.SpikeSourceArray(spike_times=[0.33, 0.34, 2.0]))
    src.record("spikes")
    shared.record("spikes")
    sim.run(5.0)
    given, same = trains(src), trains(shared)
    sim.end()
    assert given == [[0.01, 0.02, 0.25, 5.0], [0.1, 4.96], []]
    assert same == [[0.33, 0.34, 2.0]] * 2


def test_spike_time_zero_is_refused():
    sim.setup(timestep=0.1, quiet=True)
    with pytest.raises(Exception, match="Population 'early': spike time 0 ms.*must be > 0"):
        sim.Population(1, sim.SpikeSourceArray(spike_times=[0.0, 1.0]), label="early")
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]), label="later")
    with pytest.raises(Exception, match="Population 'later': spike time 0 ms"):
        src.set(spike_times=[0.0])
    sim.end()


def test_unknown_spike_precision_is_refused():
    with pytest.raises(ValueError, match="spike_precision.*'exact'"):
        sim.setup(spike_precision="exact")
