"""A 100-million-neuron network description, for `spinn map` (never run it).

    /usr/bin/time -v spinn map -n 16384 --ranks-per-node 64 benchmarks/map_100m.py

400 populations of 250,000 IF_curr_exp neurons (10^8 in all), each projecting
to 5 others (FixedProbability 4e-4: ~100 synapses per neuron per projection,
2*10^10 synapses in all). Nothing per neuron or per synapse is created while
the script describes the network or while spinn maps it.
"""
import argparse

import numpy as np

import spinn as sim

parser = argparse.ArgumentParser()
parser.add_argument("--populations", type=int, default=400)
parser.add_argument("--size", type=int, default=250_000)
parser.add_argument("--fan-out", type=int, default=5)
args = parser.parse_args()

sim.setup(timestep=0.1)
rng = np.random.default_rng(7)
pops = [sim.Population(args.size, sim.IF_curr_exp(), label=f"p{i}")
        for i in range(args.populations)]
conn = sim.FixedProbabilityConnector(4e-4, rng=sim.NumpyRNG(seed=1))
syn = sim.StaticSynapse(weight=0.01, delay=1.5)
for i, pre in enumerate(pops):
    for j in rng.choice(args.populations, args.fan_out, replace=False):
        sim.Projection(pre, pops[int(j)], conn, syn, receptor_type="excitatory")
sim.run(100.0)          # under `spinn map` this maps and stops
