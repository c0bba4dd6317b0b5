"""A long run that SIGTERMs itself after 1.5 s (tests/integration/test_streamed_recording.py)."""
import os, signal, sys, threading, time
import spinn as sim
sim.setup(timestep=0.1, output=sys.argv[1])
p = sim.Population(100, sim.SpikeSourcePoisson(rate=50.0), label="p")
p.record("spikes")
sim.run(1.0)
threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
sim.run(10_000_000.0)
