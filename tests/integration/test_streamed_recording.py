"""Recordings streamed to per-rank files in chunks (spinn.recording, spinn.io)."""
import json
import os

import numpy as np
import pytest

import spinn as sim
from spinn.recording import RankRecorder, read_chunks


def network(n_ranks, output):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks, output=str(output))
    noise = sim.Population(20, sim.SpikeSourcePoisson(rate=200.0), label="noise")
    cells = sim.Population(50, sim.IF_curr_exp(), label="cells",
                           initial_values={"v": sim.RandomDistribution("uniform", (-65, -55))})
    sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.5),
                   sim.StaticSynapse(weight=0.6, delay=1.0))
    cells.record("spikes")
    cells[0:10].record("v")
    return cells


def trains(block):
    seg = block.segments[-1]
    spikes = {int(st.annotations["source_index"]): np.asarray(st.magnitude)
              for st in seg.spiketrains}
    v = np.asarray(seg.filter(name="v")[0].magnitude)
    return spikes, v


@pytest.mark.parametrize("n_ranks", [1, 3])
def test_small_chunks_bound_memory_and_change_nothing(tmp_path, monkeypatch, n_ranks):
    cells = network(n_ranks, tmp_path / "whole")
    sim.run(300.0)
    reference = trains(cells.get_data())
    sim.end()
    monkeypatch.setattr(RankRecorder, "CHUNK_VALUES", 500)
    cells = network(n_ranks, tmp_path / "chunked")
    most = 0
    for _ in range(6):
        sim.run(50.0)
        from spinn.pynn.simulator import state
        most = max(most, max(rt.recorder.pending() for rt in state.simulation.runtimes))
    streamed = trains(cells.get_data())
    files = sorted((tmp_path / "chunked").glob("segment000-rank*.msgpack"))
    assert 1 <= len(files) <= n_ranks           # ranks that recorded something
    chunks = [c for f in files for c in read_chunks(f)]
    assert len(chunks) > 12                        # flushed during runs, not only at the end
    assert most == 0                               # each run() ends with everything written
    sim.end()
    assert reference[0].keys() == streamed[0].keys()
    for i in reference[0]:
        np.testing.assert_array_equal(reference[0][i], streamed[0][i])
    np.testing.assert_array_equal(reference[1], streamed[1])


def test_io_read_gives_get_data_and_survives_a_cut_file(tmp_path):
    out = tmp_path / "run"
    cells = network(2, out)
    sim.run(100.0)
    sim.reset()
    sim.run(60.0)
    block = cells.get_data()
    sim.end()
    meta = json.loads((out / "run.json").read_text())
    assert meta["segment"] == 1 and meta["step"] == 600
    offline = sim.io.read(out, population="cells")
    assert len(offline.segments) == len(block.segments) == 2
    for seg_a, seg_b in zip(block.segments, offline.segments):
        a = {int(st.annotations["source_index"]): np.asarray(st.magnitude)
             for st in seg_a.spiketrains}
        b = {int(st.annotations["source_index"]): np.asarray(st.magnitude)
             for st in seg_b.spiketrains}
        assert a.keys() == b.keys() and sum(len(x) for x in a.values()) > 0
        for i in a:
            np.testing.assert_allclose(a[i], b[i], rtol=0, atol=1e-9)
        np.testing.assert_array_equal(np.asarray(seg_a.filter(name="v")[0].magnitude),
                                      np.asarray(seg_b.filter(name="v")[0].magnitude))
    # a rank killed while writing leaves half a chunk: read up to the last whole one
    file = out / "segment001-rank00001.msgpack"
    whole = list(read_chunks(file))
    data = file.read_bytes()
    file.write_bytes(data[:-7])
    assert len(list(read_chunks(file))) == len(whole) - 1
    partial = sim.io.read(out)["cells"]
    assert len(partial.segments) == 2


def test_default_output_directory_is_per_script_and_time(tmp_path, monkeypatch):
    monkeypatch.setenv("SPINN_OUTPUT_ROOT", str(tmp_path))
    monkeypatch.delenv("SPINN_OUTPUT", raising=False)
    dirs = []
    for _ in range(2):
        sim.setup(timestep=0.1, quiet=True)
        p = sim.Population(3, sim.SpikeSourceArray(spike_times=[1.0, 2.0]))
        p.record("spikes")
        sim.run(5.0)
        from spinn.pynn.simulator import state
        dirs.append(state.simulation.output_dir)
        sim.end()
    assert dirs[0] != dirs[1]                        # two runs in one second: two directories
    assert all(d.parent.parent == tmp_path for d in dirs)
    assert all((d / "run.json").exists() for d in dirs)
    assert os.path.basename(dirs[0].parent)          # the script's name


def test_a_long_run_is_written_while_it_runs(tmp_path, monkeypatch):
    """Memory holds at most a chunk plus 1024 steps: one run of 10,000 steps
    writes chunks all along, and a run ten times longer writes ten times more
    chunks, not bigger ones."""
    monkeypatch.setattr(RankRecorder, "CHUNK_VALUES", 2000)
    sizes = []
    for t in (100.0, 1000.0):
        network(1, tmp_path / f"t{int(t)}")
        sim.run(t)
        sim.end()
        chunks = list(read_chunks(tmp_path / f"t{int(t)}" / "segment000-rank00000.msgpack"))
        sizes.append((len(chunks), max(len(c.get("value", c.get("gid"))) for c in chunks)))
    assert sizes[1][0] >= 8 * sizes[0][0]
    assert sizes[1][1] <= 2 * sizes[0][1] + 200_000


def test_sigterm_during_a_run_keeps_what_was_recorded(tmp_path):
    """A scheduler's time limit (SIGTERM) mid-run: every rank writes what it
    recorded before the process ends, and spinn.io.read finds it."""
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "e2e" / "scripts" / "terminated_run.py"
    out = tmp_path / "cut"
    proc = subprocess.run([sys.executable, str(script), str(out)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0
    meta = json.loads((out / "run.json").read_text())
    assert meta["step"] > 100
    block = sim.io.read(out, population="p")
    n = sum(len(st) for st in block.segments[0].spiketrains)
    assert n > 100 * 50 * meta["step"] * 1e-4 * 0.5      # about rate x cells x time
    assert max(st.magnitude.max() for st in block.segments[0].spiketrains if len(st)) \
        <= meta["t_ms"] + 0.1 + 1e-9   # the step in progress may have recorded
