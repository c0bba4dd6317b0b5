"""GIF_cond_exp neurons with escape noise, driven by Poisson input and each
other: their spikes and v, saved to argv[1] (rank 0). Run by test_gif.py under
mpiexec -n 1 and -n 2."""
import sys

import numpy as np

import spinn as sim

sim.setup(timestep=0.1, min_delay=1.0, quiet=True)
sim.set_number_of_neurons_per_core(sim.GIF_cond_exp, 13)
cells = sim.Population(60, sim.GIF_cond_exp(v_t_star=-55.0, delta_v=2.0, lambda0=5.0,
                                            i_offset=0.4, a_gamma=(4.0, 2.0, 1.0)),
                       initial_values={"v": -65.0, "v_t": -55.0}, label="gif")
noise = sim.Population(40, sim.SpikeSourcePoisson(rate=30.0), label="noise")
rng = sim.NumpyRNG(seed=5)
sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.3, rng=rng),
               sim.StaticSynapse(weight=0.004, delay=1.0))
sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
               sim.StaticSynapse(weight=0.002, delay=1.5))
cells.record(["spikes", "v"])
sim.run(300.0)
seg = cells.get_data().segments[0]
if sim.rank() == 0:
    trains = [np.asarray(t.magnitude) for t in seg.spiketrains]
    np.savez(sys.argv[1], v=np.asarray(seg.filter(name="v")[0].magnitude),
             times=np.concatenate(trains), counts=np.array([t.size for t in trains]),
             n_processes=sim.num_processes())
sim.end()
