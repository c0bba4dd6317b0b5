"""A network with a live 'sensor' input (tests/e2e/test_live_input.py):
    live_inject_net.py OUT_DIR NOTIFY_PORT [REPLAY_LOG]
With NOTIFY_PORT > 0 the sensor is a SpikeInjector that hand-shakes with the
client at that port; with REPLAY_LOG it is the log's SpikeSourceArray instead.
Writes OUT_DIR/rec.npz: every population's recorded spikes as (gid, time)."""
import sys

import numpy as np

import spinn as sim

out, notify = sys.argv[1], int(sys.argv[2])
replay = sys.argv[3] if len(sys.argv) > 3 else None
sim.setup(timestep=1.0, quiet=True, real_time=replay is None, output=out + "/run")
sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 30)
cell = (sim.live.replay(replay, "sensor") if replay else
        sim.live.SpikeInjector(database_notify_port_num=notify))
sensor = sim.Population(40, cell, label="sensor")
noise = sim.Population(30, sim.SpikeSourcePoisson(rate=20.0), label="noise")
motor = sim.Population(90, sim.IF_curr_exp(tau_refrac=2.0), label="motor")
sim.Projection(sensor, motor, sim.FixedProbabilityConnector(0.3, rng=sim.NumpyRNG(3)),
               sim.StaticSynapse(weight=2.0, delay=1.0))
sim.Projection(noise, motor, sim.FixedProbabilityConnector(0.2, rng=sim.NumpyRNG(4)),
               sim.StaticSynapse(weight=0.6, delay=2.0))
sim.Projection(motor, motor, sim.FixedProbabilityConnector(0.1, rng=sim.NumpyRNG(5)),
               sim.StaticSynapse(weight=-0.5, delay=1.0), receptor_type="inhibitory")
for p in (sensor, noise, motor):
    p.record("spikes")
sim.run(400.0)
rows = []
for p in (sensor, noise, motor):
    for st in p.get_data().segments[0].spiketrains:
        gid = p.first_id + int(st.annotations["source_index"])
        rows += [(gid, t) for t in st.magnitude]
rows = np.array(sorted(rows), dtype=float).reshape(-1, 2)
if sim.rank() == 0:
    np.savez(out + "/rec.npz", gid=rows[:, 0], t=rows[:, 1])
sim.end()
