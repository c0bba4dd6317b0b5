"""`spinn report DIR` and `spinn plot DIR` on a run's output directory."""
import subprocess
import sys

import numpy as np
import pytest

import spinn as sim


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "run"
    sim.setup(timestep=0.1, n_virtual_ranks=2, output=str(out), quiet=True)
    src = sim.Population(50, sim.SpikeSourcePoisson(rate=40.0, duration=100.0), label="src")
    cells = sim.Population(100, sim.IF_curr_exp(), label="cells")
    sim.Projection(src, cells, sim.FixedProbabilityConnector(0.2, rng=sim.NumpyRNG(3)),
                   sim.StaticSynapse(weight=1.0, delay=1.0))
    src.record("spikes")
    cells.record(["spikes", "v"])
    sim.run(200.0)
    sim.end()
    return out


def spinn(*args):
    return subprocess.run([sys.executable, "-m", "launch.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_report_prints_the_provenance(output):
    proc = spinn("report", output)
    assert proc.returncode == 0, proc.stderr
    for words in ("synaptic events", "load imbalance", "keys received", "cells", "src"):
        assert words in proc.stdout
    (output / "provenance.json").rename(output / "provenance.json.bak")   # as a killed run
    try:
        partial = spinn("report", output)
        assert partial.returncode == 0 and "did not reach end()" in partial.stdout
        assert "cells" in partial.stdout
    finally:
        (output / "provenance.json.bak").rename(output / "provenance.json")
    assert spinn("report", output / "nothing").returncode == 2


def test_plot_draws_the_raster(output, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread
    proc = spinn("plot", output, "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("raster.png", "traces.png", "phases.png", "keys.png"):
        assert (tmp_path / name).stat().st_size > 1000
    image = imread(tmp_path / "raster.png")[:, :, :3]
    ink = np.any(image < 0.85, axis=2)             # dots, lines, text
    coloured = ink & (np.ptp(image, axis=2) > 0.2)  # the populations' colours, not black
    h, w = coloured.shape
    top = coloured[: int(0.6 * h)]                  # the raster panel, not the histogram
    # every spike falls in the first 105 ms of 200: dots on the left half only
    left = top[:, int(0.1 * w): int(0.5 * w)].sum()
    right = top[:, int(0.6 * w): int(0.9 * w)].sum()
    assert left > 500 and right < left / 50


def test_spinn_run_output_directory(tmp_path):
    """`spinn run --output DIR -n 2`: both ranks stream there, rank 0 writes
    run.json and provenance.json, spinn.io.read gives the data."""
    from pathlib import Path
    script = tmp_path / "net.py"
    script.write_text(
        "import spinn as sim\n"
        "sim.setup(timestep=0.1)\n"
        "p = sim.Population(40, sim.SpikeSourcePoisson(rate=100.0), label='p')\n"
        "sim.set_number_of_neurons_per_core(sim.SpikeSourcePoisson, 20)\n"
        "p.record('spikes')\n"
        "sim.run(100.0)\n"
        "sim.end()\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "launch.cli", "run", "-n", "2", "--output",
                           str(out), str(script)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (out / "run.json").exists() and (out / "provenance.json").exists()
    assert f"recordings and provenance in {out}" in proc.stdout
    block = sim.io.read(out, population="p")
    assert sum(len(st) for st in block.segments[0].spiketrains) > 200
    assert len(list(Path(out).glob("segment000-rank*.msgpack"))) >= 1
