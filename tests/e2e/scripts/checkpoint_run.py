"""Checkpoint, restart and growth under real MPI (tests/e2e/test_checkpoint_processes.py).

    checkpoint_run.py full OUT.npz         60 ms without a break
    checkpoint_run.py save DIR             30 ms, then a checkpoint in DIR
    checkpoint_run.py restore DIR OUT.npz  restore DIR, 30 ms more
    checkpoint_run.py grow OUT.npz         20 ms, add cells and projections, 20 ms more
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.integration.test_checkpoint import build, result  # noqa: E402

import spinn as sim  # noqa: E402


def save(out, data):
    flat = {}
    for key, value in data.items():
        if isinstance(value, list):
            for i, train in enumerate(value):
                flat[f"{key}#{i}"] = train
        else:
            flat[key] = value
    flat["n_processes"] = np.array(sim.num_processes())
    if sim.rank() == 0:
        np.savez(out, **flat)


mode = sys.argv[1]
pops, plastic = build(None)
if mode == "full":
    sim.run(30.0)
    sim.run(30.0)
    save(sys.argv[2], result(pops, plastic))
elif mode == "save":
    sim.run(30.0)
    sim.save_checkpoint(sys.argv[2])
elif mode == "restore":
    sim.restore_checkpoint(sys.argv[2])
    sim.run(30.0)
    save(sys.argv[3], result(pops, plastic))
elif mode == "grow":
    sim.run(20.0)
    cells = pops[2]
    late = sim.Population(6, sim.IF_curr_exp(i_offset=0.5), label="late")
    late.record("spikes")
    sim.Projection(cells, late, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.8, delay=0.6), label="to-late")
    sim.Projection(late, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.5, delay=1.1), label="from-late")
    sim.run(20.0)
    save(sys.argv[2], result(list(pops) + [late], plastic))
sim.end()
