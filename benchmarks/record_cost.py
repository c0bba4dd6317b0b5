"""What ``record()`` costs: a whole population of 10^8 neurons, a slice view of
half of it, and k scattered cells, in time and peak traced bytes (numpy
reports its buffers to tracemalloc). Nothing is built or run.

    python benchmarks/record_cost.py
"""
import time
import tracemalloc

import numpy as np

import spinn as sim


def measure(label, fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    fn()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{label:<44} {seconds * 1e3:10.2f} ms  peak {peak / 2**20:10.2f} MiB")


def main():
    sim.setup(timestep=0.1, quiet=True)
    pop = sim.Population(10**8, sim.IF_curr_exp(), label="huge")
    measure("record(['spikes', 'v']) of 10^8 cells", lambda: pop.record(["spikes", "v"]))
    pop.record(None)
    measure("pop[0:5*10^7].record('v') (a slice view)", lambda: pop[0:5 * 10**7].record("v"))
    pop.record(None)
    for k in (10**3, 10**5):
        idx = np.random.default_rng(1).choice(10**8, size=k, replace=False)
        measure(f"pop[{k} random indices].record('spikes')", lambda: pop[idx].record("spikes"))
        pop.record(None)
    sim.end()


if __name__ == "__main__":
    main()
