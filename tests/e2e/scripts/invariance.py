"""Scenarios whose results must not depend on the number of MPI processes.

Run as ``python invariance.py OUT.npz`` or under ``mpiexec -n N python -m
mpi4py invariance.py OUT.npz``; MPI rank 0 writes every result into OUT.npz.
Nothing in here is seeded: unseeded random values must still agree.
"""
import sys

import numpy as np

import spinn as sim

RD = sim.RandomDistribution
results = {}


def signal(pop, name="v", segment=0):
    return np.asarray(pop.get_data(name).segments[segment].filter(name=name)[0].magnitude)


def spikes(pop, segment=0):
    trains = pop.get_data("spikes").segments[segment].spiketrains
    return np.concatenate([np.asarray(t.magnitude) + 1000.0 * i for i, t in enumerate(trains)])


def unseeded():
    sim.setup(timestep=0.1, quiet=True)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 23)
    p = sim.Population(90, sim.IF_curr_exp(tau_m=RD("uniform", (15.0, 25.0)),
                                           i_offset=RD("normal", (0.3, 0.2))), label="p")
    p.initialize(v=RD("uniform", (-60.0, -50.0)))
    src = sim.Population(60, sim.SpikeSourcePoisson(rate=RD("uniform", (5.0, 40.0))))
    sim.Projection(src, p, sim.FixedProbabilityConnector(0.15),
                   sim.StaticSynapse(weight=RD("uniform", (0.1, 0.6)),
                                     delay=RD("uniform", (0.5, 3.0))))
    sim.Projection(p, p, sim.FixedNumberPreConnector(6, allow_self_connections=False),
                   sim.StaticSynapse(weight=RD("normal_clipped", (0.1, 0.05, 0.0, 1.0)),
                                     delay=1.0))
    p.record(["spikes", "v"])
    sim.run(40.0)
    results["unseeded_spikes"] = spikes(p)
    results["unseeded_v"] = signal(p)
    results["unseeded_tau_m"] = np.asarray(p.get("tau_m"))
    sim.end()


def generic_and_spatial():
    sim.setup(timestep=0.1, quiet=True)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 17)
    src = sim.Population(40, sim.SpikeSourcePoisson(rate=60.0),
                         structure=sim.space.RandomStructure(sim.space.Cuboid(50, 50, 50)))
    dst = sim.Population(35, sim.IF_curr_exp(v_thresh=-60.0),
                         structure=sim.space.RandomStructure(sim.space.Cuboid(50, 50, 50)))
    a = sim.Projection(src, dst, sim.FixedNumberPreConnector(RD("uniform_int", (2, 9))),
                       sim.StaticSynapse(weight=RD("uniform", (0.2, 0.6)), delay=1.0))
    b = sim.Projection(src, dst, sim.DistanceDependentProbabilityConnector("exp(-d/20)"),
                       sim.StaticSynapse(weight=0.3, delay="0.5 + 0.05*d"))
    dst.record("spikes")
    sim.run(40.0)
    results["generic_list"] = np.array(a.get(["weight", "delay"], format="list"))
    results["spatial_list"] = np.array(b.get(["weight", "delay"], format="list"))
    results["generic_spikes"] = spikes(dst)
    results["positions"] = np.asarray(dst.positions)
    sim.end()


def record_after_run():
    sim.setup(timestep=0.1, quiet=True)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 3)
    p = sim.Population(8, sim.IF_curr_exp(i_offset=np.linspace(1.5, 3.0, 8)))
    p[0:2].record("v")
    sim.run(5.0)
    p[2:6].record("v")
    p.record("spikes")
    sim.run(5.0)
    p[np.array([7, 6])].record("v")          # scattered cells of a view (two runs)
    sim.run(2.0)
    results["record_after_run_v"] = signal(p)
    results["record_after_run_spikes"] = spikes(p)
    sim.end()


def set_then_reset():
    sim.setup(timestep=0.1, quiet=True)
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 5)
    src = sim.Population(20, sim.SpikeSourcePoisson(rate=80.0))
    p = sim.Population(12, sim.IF_curr_exp())
    prj = sim.Projection(src, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5))
    stdp = sim.Projection(src, p, sim.FixedProbabilityConnector(0.5), sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(), weight_dependence=sim.AdditiveWeightDependence(),
        weight=RD("uniform", (0.05, 0.2)), delay=1.0))
    p.record(["spikes", "v"])
    results["stdp_weights_initial"] = np.array(stdp.get("weight", format="list"))
    sim.run(20.0)
    prj.set(weight=RD("uniform", (0.01, 0.3)))
    p[3:7].set(tau_m=RD("uniform", (10.0, 30.0)))
    p.initialize(v=RD("uniform", (-70.0, -60.0)))
    sim.run(20.0)
    results["set_weights_before_reset"] = np.array(prj.get("weight", format="list"))
    results["stdp_weights_before_reset"] = np.array(stdp.get("weight", format="list"))
    sim.reset()
    results["stdp_weights_at_reset"] = np.array(stdp.get("weight", format="list"))
    sim.run(40.0)
    results["set_weights_after_reset"] = np.array(prj.get("weight", format="list"))
    results["stdp_weights_after_reset"] = np.array(stdp.get("weight", format="list"))
    results["reset_v0"] = signal(p, segment=0)
    results["reset_v1"] = signal(p, segment=1)
    results["reset_spikes1"] = spikes(p, segment=1)
    sim.end()


for scenario in (unseeded, generic_and_spatial, record_after_run, set_then_reset):
    scenario()
if sim.rank() == 0:
    np.savez(sys.argv[1], n_processes=sim.num_processes(), **results)
