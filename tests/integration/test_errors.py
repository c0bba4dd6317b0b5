"""Bad input gets a clear error naming the population/projection and the value."""
import numpy as np
import pytest
from pyNN import errors as pynn_errors

import spinn as sim
from spinn.errors import NetworkError, SimulationStateError
from spinn.network import GidRange


@pytest.fixture
def net():
    sim.setup(timestep=0.1, quiet=True)
    pre = sim.Population(10, sim.SpikeSourcePoisson(rate=10.0), label="src")
    post = sim.Population(10, sim.IF_curr_exp(), label="target")
    yield pre, post
    sim.end()


def test_run_before_setup():
    sim.setup(quiet=True)
    sim.end()
    with pytest.raises(SimulationStateError, match="setup"):
        sim.run(10.0)
    with pytest.raises(SimulationStateError, match="setup"):
        sim.Population(3, sim.IF_curr_exp())


def test_unknown_cell_parameter():
    with pytest.raises(pynn_errors.NonExistentParameterError, match="tau_mm"):
        sim.IF_curr_exp(tau_mm=3.0)


@pytest.mark.parametrize("delay,match", [(0.0, "delay 0 ms is not positive"),
                                         (-1.0, "delay -1 ms is not positive"),
                                         (0.04, "delay 0.04 ms is below the timestep 0.1")])
def test_bad_delays_name_the_projection(net, delay, match):
    pre, post = net
    with pytest.raises(NetworkError, match=f"'bad': {match}"):
        sim.Projection(pre, post, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.1, delay=delay), label="bad")


def test_wrong_sign_weights(net):
    pre, post = net
    with pytest.raises(NetworkError, match="'neg-exc': weight -0.5 is negative"):
        sim.Projection(pre, post, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=-0.5), receptor_type="excitatory",
                       label="neg-exc")
    with pytest.raises(NetworkError, match="'pos-inh': weight 0.5 is positive"):
        sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5),
                       receptor_type="inhibitory", label="pos-inh")


def test_wrong_sign_from_distribution_found_at_build(net):
    pre, post = net
    sim.Projection(pre, post, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=sim.RandomDistribution("normal", mu=0.0, sigma=1.0)),
                   receptor_type="excitatory", label="mixed-sign")
    with pytest.raises(NetworkError, match="'mixed-sign': weight .* is negative"):
        sim.run(1.0)


def test_random_delays_below_timestep_found_at_build(net):
    pre, post = net
    sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(
        weight=0.1, delay=sim.RandomDistribution("uniform", low=0.0, high=0.01)), label="fast")
    with pytest.raises(NetworkError, match="'fast': delay .* (below the timestep|not positive)"):
        sim.run(1.0)


def test_changing_a_slicing_after_run_is_refused(net):
    sim.run(1.0)
    with pytest.raises(SimulationStateError, match="after the first run"):
        sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 3)


def test_unsorted_spike_times():
    sim.setup(quiet=True)
    with pytest.raises(pynn_errors.InvalidParameterValueError, match="sorted"):
        sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 1.0]))
    sim.end()


def test_one_to_one_size_mismatch(net):
    pre, post = net
    with pytest.raises(pynn_errors.ConnectionError, match="same size"):
        sim.Projection(pre[:3], post, sim.OneToOneConnector(), label="o2o")


def test_set_with_a_distance_expression(net):
    """Projection.set(weight=<function of distance>), as PyNN's scenarios use it."""
    pre, post = net
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    prj.set(weight=lambda d: 0.1 * d + 0.01)
    w = np.asarray(prj.get("weight", format="array"))
    d = sim.Space().distances(pre.positions.T, post.positions.T)
    np.testing.assert_allclose(w, (0.1 * d + 0.01).reshape(w.shape))


def test_pynn_alias_import():
    import pyNN.spinn
    assert pyNN.spinn is sim


def test_interpreter_start_does_not_import_spinn():
    """The .pth hook only installs a finder; spinn loads on demand."""
    import subprocess
    import sys
    code = "import sys; print('spinn' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr


def test_projection_queries_before_run_build_the_network(net):
    pre, post = net
    prj = sim.Projection(pre, post, sim.FixedNumberPreConnector(3, rng=sim.NumpyRNG(seed=1)),
                         sim.StaticSynapse(weight=0.2, delay=0.5))
    assert len(prj) == 30
    w = prj.get("weight", format="array")
    assert w.shape == (10, 10)
    np.testing.assert_array_equal(np.isfinite(w).sum(axis=0), 3)
    conns = prj.get(["weight", "delay"], format="list")
    assert all(c[2] == 0.2 and abs(c[3] - 0.5) < 1e-12 for c in conns)


def test_large_populations_cost_nothing_per_neuron_until_used():
    sim.setup(quiet=True)
    big = sim.Population(50_000_000, sim.IF_curr_exp(), label="big")
    other = sim.Population(10, sim.IF_curr_exp())
    prj = sim.Projection(big, other, sim.FixedProbabilityConnector(1e-9))
    assert big.all_cells._cells is None            # no ID objects were made
    assert big[123].tau_m == 20.0 and int(big[-1]) == int(big.first_id) + 49_999_999
    assert big.all_cells._cells is None
    assert isinstance(prj._spec.pre, GidRange) and prj._spec.pre.size == 50_000_000
    assert int(other[3]) in other[2:5].all_cells   # small populations behave as before
    sim.end()
