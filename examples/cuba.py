"""The CUBA benchmark (Vogels & Abbott 2005; Brette et al. 2007, benchmark 2).

4,000 IF_curr_exp neurons (3,200 excitatory, 800 inhibitory), 2 % random
connectivity, current-based exponential synapses, 0.2 ms delays, kicked off by
20 Poisson sources firing at 100 Hz for the first 50 ms. The activity is
self-sustained (the leak reversal, -49 mV, sits above threshold).

    python examples/cuba.py                      # 1 rank
    spinn run -n 2 examples/cuba.py              # 2 ranks, identical spikes
    spinn run -n 2 examples/cuba.py --tstop 200 --npc 100 --spikes out.npz
"""
import argparse

import numpy as np

import spinn as sim

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--n", type=int, default=4000, help="number of neurons")
parser.add_argument("--tstop", type=float, default=1000.0, help="simulated time (ms)")
parser.add_argument("--npc", type=int, default=256, help="neurons per core")
parser.add_argument("--seed", type=int, default=98765)
parser.add_argument("--stim-rate", type=float, default=100.0,
                    help="rate (Hz) of the 20 kick-off Poisson sources; 0 for none")
parser.add_argument("--spikes", help="write all spikes (index, time) to this .npz file")
args = parser.parse_args()

sim.setup(timestep=0.1, min_delay=0.2)
sim.set_number_of_neurons_per_core(sim.IF_curr_exp, args.npc)

n_exc = int(args.n * 0.8)
n_inh = args.n - n_exc
cm = 0.2                                 # nF: 20,000 µm² at 1 µF/cm²
cell = sim.IF_curr_exp(tau_m=20.0, cm=cm, v_rest=-49.0, v_thresh=-50.0, v_reset=-60.0,
                       tau_refrac=5.0, tau_syn_E=5.0, tau_syn_I=10.0, i_offset=0.0)
rng = sim.NumpyRNG(seed=args.seed)
v_init = sim.RandomDistribution("uniform", low=-60.0, high=-50.0, rng=rng)

exc = sim.Population(n_exc, cell, initial_values={"v": v_init}, label="excitatory")
inh = sim.Population(n_inh, cell, initial_values={"v": v_init}, label="inhibitory")
stim = sim.Population(20, sim.SpikeSourcePoisson(rate=args.stim_rate, duration=50.0), label="stimulus")

w_exc = 1e-3 * 0.27 * (0.0 - -60.0)      # nA, from 0.27 nS at a mean driving force of 60 mV
w_inh = 1e-3 * 4.5 * (-80.0 - -60.0)     # nA, negative: inhibitory current
connector = sim.FixedProbabilityConnector(0.02, rng=rng)
exc_syn = sim.StaticSynapse(weight=w_exc, delay=0.2)
inh_syn = sim.StaticSynapse(weight=w_inh, delay=0.2)
cells = exc + inh
sim.Projection(exc, cells, connector, exc_syn, receptor_type="excitatory", label="exc")
sim.Projection(inh, cells, connector, inh_syn, receptor_type="inhibitory", label="inh")
sim.Projection(stim, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
               sim.StaticSynapse(weight=0.1, delay=0.2), receptor_type="excitatory",
               label="stimulus")

cells.record("spikes")
sim.run(args.tstop)

data = cells.get_data("spikes").segments[0]
n_spikes = sum(len(st) for st in data.spiketrains)
if sim.rank() == 0:
    rate = n_spikes / args.n / (args.tstop / 1000.0)
    print(f"CUBA: {args.n} neurons, {n_spikes} spikes in {args.tstop:g} ms, "
          f"mean rate {rate:.2f} Hz")
    if args.spikes:
        idx = np.concatenate([np.full(len(st), st.annotations["source_index"])
                              for st in data.spiketrains])
        times = np.concatenate([st.magnitude for st in data.spiketrains])
        np.savez(args.spikes, index=idx, times=times)
sim.end()
