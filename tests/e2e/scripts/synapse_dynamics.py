"""Stochastic and short-term synapses whose results must not depend on the
number of MPI processes (nor on whether the script seeded anything).

Run as ``python synapse_dynamics.py OUT.npz [SEED]`` or under ``mpiexec -n N
python -m mpi4py synapse_dynamics.py OUT.npz [SEED]``; MPI rank 0 writes the
results into OUT.npz.
"""
import sys

import numpy as np

import spinn as sim

RD = sim.RandomDistribution
seed = {"rng_seed": int(sys.argv[2])} if len(sys.argv) > 2 else {}
sim.setup(timestep=0.1, quiet=True, **seed)
sim.set_number_of_neurons_per_core(sim.IF_curr_delta, 7)
src = sim.Population(6, sim.SpikeSourcePoisson(rate=60.0), label="src")
cells = sim.Population(40, sim.IF_curr_delta(tau_m=1e9, v_rest=0.0, v_thresh=1e9,
                                             v_reset=0.0),
                       initial_values={"v": 0.0}, label="cells")
native = sim.NativeRNG()
coin = sim.Projection(src, cells, sim.FixedProbabilityConnector(0.6, rng=native),
                      sim.SimpleStochasticSynapse(weight=1.0, delay=1.0,
                                                  p=RD("uniform", (0.2, 0.8), rng=native)),
                      label="coin")
stm = sim.Projection(src, cells, sim.AllToAllConnector(),
                     sim.StochasticTsodyksMarkramSynapse(weight=0.01, delay=1.5,
                                                         U=RD("uniform", (0.2, 0.9)),
                                                         tau_rec=RD("uniform", (20.0, 200.0))),
                     label="stm")
mq = sim.Projection(src, cells, sim.FixedNumberPreConnector(3),
                    sim.MultiQuantalSynapse(weight=0.0001, delay=2.0, n=4, U=0.5,
                                            tau_facil=lambda d: 10.0 + d),
                    label="mq")
tm = sim.Projection(src, cells, sim.AllToAllConnector(),
                    sim.TsodyksMarkramSynapse(weight=1e-6, delay=1.0,
                                              U=RD("uniform", (0.1, 0.9))), label="tm")
cells.record("v")
sim.run(150.0)
stm.set(U=RD("uniform", (0.5, 0.6)))
sim.run(150.0)
results = {
    "v": np.asarray(cells.get_data().segments[0].filter(name="v")[0].magnitude),
    "coin": np.asarray(coin.get(["weight", "p"], format="list")),
    "stm": np.asarray(stm.get(["U", "tau_rec", "tau_facil"], format="list")),
    "mq": np.asarray(mq.get(["n", "tau_facil"], format="list")),
    "tm": np.asarray(tm.get("U", format="array")),
    "native_draws": native.next(5),
}
if sim.rank() == 0:
    np.savez(sys.argv[1], n_processes=sim.num_processes(), **results)
sim.end()
