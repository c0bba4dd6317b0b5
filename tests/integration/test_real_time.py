"""Real-time mode: steps paced to the wall clock, late steps counted honestly."""
import json
import time

import numpy as np

import spinn as sim
from spinn.pynn.simulator import state


def test_real_time_never_runs_ahead_of_the_wall_clock(tmp_path):
    sim.setup(timestep=1.0, real_time=True, quiet=True, output=str(tmp_path / "rt"))
    p = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0))
    cells = sim.Population(20, sim.IF_curr_exp())
    sim.Projection(p, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=2.0, delay=1.0))
    cells.record("spikes")
    sim.run(1.0)
    state.simulation.pacing.log = log = []
    t0 = time.perf_counter()
    sim.run(2000.0)
    wall = time.perf_counter() - t0
    sim.end()
    assert wall >= 2.0
    steps = np.array([k for k, _ in log])
    lateness = np.array([late for _, late in log])
    assert steps.size == 2000 and np.all(np.diff(steps) == 1)
    assert np.all(lateness >= 0.0)        # no step started before its time
    prov = json.loads((tmp_path / "rt" / "provenance.json").read_text())
    assert prov["real_time"]["late_steps_by_rank"][0] == int(np.sum(lateness > 0.0005))


def test_late_steps_are_reported_not_hidden(tmp_path, capsys):
    """A network far too big for real time at dt = 0.1 ms: most steps late,
    the summary says so per rank, with advice."""
    sim.setup(timestep=0.1, real_time=True, n_virtual_ranks=2, output=str(tmp_path / "slow"))
    src = sim.Population(400, sim.SpikeSourcePoisson(rate=2000.0))   # ~80k events a step
    cells = sim.Population(2000, sim.IF_curr_exp())
    sim.Projection(src, cells, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(1)),
                   sim.StaticSynapse(weight=0.01, delay=0.1))
    sim.run(50.0)
    sim.end()
    prov = json.loads((tmp_path / "slow" / "provenance.json").read_text())
    rt = prov["real_time"]
    assert len(rt["late_steps_by_rank"]) == 2 and max(rt["late_steps_by_rank"]) > 50
    assert rt["on_time_fraction"] < 0.99 and max(rt["worst_lateness_ms_by_rank"]) > 0.05
    out = capsys.readouterr().out
    assert "spinn: real time: rank 0:" in out and "late steps" in out
    assert "were late for real time" in out
