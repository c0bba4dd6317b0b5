"""A network whose 'motor' spikes stream live (tests/e2e/test_live.py):
    live_net.py PORT OUT.npz"""
import sys

import numpy as np

import spinn as sim

port, out = int(sys.argv[1]), sys.argv[2]
sim.setup(timestep=0.1, quiet=True)
sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 30)
drive = sim.Population(50, sim.SpikeSourcePoisson(rate=30.0), label="drive")
motor = sim.Population(100, sim.IF_curr_exp(tau_refrac=2.0), label="motor")
sim.Projection(drive, motor, sim.FixedProbabilityConnector(0.2, rng=sim.NumpyRNG(5)),
               sim.StaticSynapse(weight=0.8, delay=1.0))
motor.record("spikes")
sim.live.activate_live_output_for(motor, host="127.0.0.1", port=port)
sim.run(1000.0)
trains = motor.get_data().segments[0].spiketrains
times = np.concatenate([st.magnitude for st in trains])
index = np.concatenate([np.full(len(st), st.annotations["source_index"]) for st in trains])
if sim.rank() == 0:
    np.savez(out, times=times, index=index)
sim.end()
