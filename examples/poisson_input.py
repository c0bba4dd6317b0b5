"""A small feed-forward network driven by Poisson input.

200 Poisson sources (20 Hz) drive 100 IF_curr_exp neurons through a
FixedNumberPre connector with random weights and delays; the output
neurons inhibit each other. Records spikes and membrane potentials and
writes them with write_data (neo pickle).

    python examples/poisson_input.py
    spinn run -n 2 examples/poisson_input.py --out results.pkl
"""
import argparse

import numpy as np

import spinn as sim

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--tstop", type=float, default=500.0, help="simulated time (ms)")
parser.add_argument("--npc", type=int, default=32, help="neurons per core")
parser.add_argument("--out", help="write recorded data (neo pickle) to this file")
parser.add_argument("--spikes", help="write output spikes (index, time) to this .npz file")
args = parser.parse_args()

sim.setup(timestep=0.1)
sim.set_number_of_neurons_per_core(sim.IF_curr_exp, args.npc)
rng = sim.NumpyRNG(seed=2026)

inputs = sim.Population(200, sim.SpikeSourcePoisson(rate=20.0), label="inputs")
outputs = sim.Population(100, sim.IF_curr_exp(tau_m=10.0, tau_syn_E=2.0, tau_syn_I=5.0,
                                              v_thresh=-55.0, tau_refrac=2.0),
                         label="outputs")
sim.Projection(inputs, outputs, sim.FixedNumberPreConnector(40, rng=rng),
               sim.StaticSynapse(
                   weight=sim.RandomDistribution("uniform", low=0.2, high=0.6, rng=rng),
                   delay=sim.RandomDistribution("uniform", low=0.5, high=5.0, rng=rng)),
               receptor_type="excitatory", label="feed-forward")
sim.Projection(outputs, outputs, sim.FixedProbabilityConnector(0.1, allow_self_connections=False,
                                                               rng=rng),
               sim.StaticSynapse(weight=-0.4, delay=1.0), receptor_type="inhibitory",
               label="lateral inhibition")

outputs.record(["spikes", "v"], sampling_interval=1.0)
sim.run(args.tstop)

block = outputs.get_data()
trains = block.segments[0].spiketrains
n = sum(len(st) for st in trains)
if sim.rank() == 0:
    print(f"poisson_input: {len(trains)} outputs fired {n} spikes in {args.tstop:g} ms "
          f"({n / len(trains) / args.tstop * 1000:.1f} Hz)")
    if args.spikes:
        np.savez(args.spikes,
                 index=np.concatenate([np.full(len(st), st.annotations["source_index"])
                                       for st in trains]),
                 times=np.concatenate([st.magnitude for st in trains]))
if args.out:
    outputs.write_data(args.out)
sim.end()
