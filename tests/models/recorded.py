"""What the model tests read back: one recorded signal, the spike trains."""
import numpy as np


def signal(pop, name):
    """``(samples, cells)`` of the recorded ``name`` of ``pop``."""
    return np.asarray(pop.get_data(name).segments[0].filter(name=name)[0].magnitude)


def spikes(pop):
    """One array of spike times (ms) per cell of ``pop``."""
    return [np.asarray(t.magnitude) for t in pop.get_data("spikes").segments[0].spiketrains]
