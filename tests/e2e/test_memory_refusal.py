"""Networks far too big for the machine are refused at the first run(), within
a second or two and without allocating (peak RSS stays that of an idle
``import spinn``), instead of being killed by the kernel after minutes."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import resource, sys, time
    import spinn as sim
    from spinn.errors import ResourceError
    sim.setup(timestep=0.1, n_virtual_ranks=2, quiet=True)
    if sys.argv[1] == "dense":
        exc = sim.Population(10**6, sim.IF_curr_exp(), label="exc")
        sim.Projection(exc, exc, sim.FixedProbabilityConnector(0.5),
                       sim.StaticSynapse(weight=0.1, delay=1.0), label="exc→exc")
    else:
        sim.Population(10**11, sim.IF_curr_exp(), label="huge")
    t0 = time.perf_counter()
    try:
        sim.run(100.0)
    except ResourceError as error:
        print(error)
        print("refused after %.3f s" % (time.perf_counter() - t0))
    print("peak KiB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")


def refuse(kind):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    env.pop("SPINN_MEMORY_PER_RANK", None)
    env.pop("SPINN_CHECK_MEMORY", None)
    out = subprocess.run([sys.executable, "-c", SCRIPT, kind], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    seconds = float(lines[-2].split()[2])
    peak_mib = int(lines[-1].split()[-1]) / 1024
    return "\n".join(lines[:-2]), seconds, peak_mib


def test_a_million_neurons_at_half_connectivity_is_refused_without_allocating():
    text, seconds, peak_mib = refuse("dense")
    assert text.startswith("the network does not fit in memory: the whole network needs an "
                           "estimated 6.37 TiB")
    assert text.splitlines()[1] == ("  Projection 'exc→exc': 6.37 TiB of synapses "
                                    "(5e+11 synapses x 14 B)")
    assert "What would fit: it would fit on at least " in text
    assert "Projection 'exc→exc' with p_connect <= 0.00" in text
    assert seconds < 2.0
    assert peak_mib < 400          # an idle `import spinn` is about 130 MiB


def test_a_population_of_1e11_neurons_is_refused_before_mapping():
    text, seconds, peak_mib = refuse("huge")
    assert text.splitlines()[1].startswith("  Population 'huge': ")
    assert "the mapping (390625000 slices, on every process)" in text
    assert seconds < 2.0
    assert peak_mib < 400
