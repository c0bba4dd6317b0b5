"""The README's first script: Poisson input onto 1,000 cells, recorded, read,
saved and plotted. Runs unchanged with `python examples/quickstart.py` and
`spinn run -n 2 examples/quickstart.py`."""
import spinn as sim            # or: import pyNN.spinn as sim

sim.setup(timestep=0.1)
noise = sim.Population(200, sim.SpikeSourcePoisson(rate=20.0), label="noise")
cells = sim.Population(1000, sim.IF_curr_exp(tau_refrac=2.0), label="cells")
sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.1, rng=sim.NumpyRNG(seed=1)),
               sim.StaticSynapse(weight=0.5, delay=1.0))
cells.record(["spikes", "v"])
sim.run(1000.0)

block = cells.get_data()       # a neo Block, identical on every rank
spikes = block.segments[0].spiketrains
v = block.segments[0].filter(name="v")[0]
if sim.rank() == 0:            # every rank runs this script: print and write once
    n = sum(len(st) for st in spikes)
    print(f"{n} spikes from {len(spikes)} cells: {n / len(spikes):.1f} Hz; "
          f"v of cell 0 at the end: {float(v[-1, 0]):.2f} mV")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (a, b) = plt.subplots(2, 1, sharex=True)
        for i, st in enumerate(spikes[:100]):
            a.plot(st.magnitude, [i] * len(st), "|", color="k")
        b.plot(v.times, v[:, 0])
        b.set_xlabel("time (ms)")
        fig.savefig("quickstart.png")
        print("wrote quickstart.png")
    except ImportError:
        pass
cells.write_data("quickstart.pkl")   # PyNN's own writer (rank 0 writes)
sim.end()
