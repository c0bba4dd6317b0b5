import pytest

import spinn as sim


@pytest.fixture
def fresh():
    """A simulation at dt 0.1 ms (min_delay one step), ended afterwards."""
    sim.setup(timestep=0.1, min_delay=0.1, quiet=True)
    yield
    sim.end()
