"""``spinn map``: runs a script up to its first run(), prints and saves the mapping report."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from launch import map_command

ROOT = Path(__file__).resolve().parents[2]


def spinn_map(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="spinn")
    map_command.register(parser.add_subparsers(dest="command"))
    options = parser.parse_args(["map", *argv])
    return options.handler(options)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPINN_CLUSTER", raising=False)
    return tmp_path


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def test_map_of_a_stand_in_script_passes_ranks_and_nodes(isolated, capsys):
    # The contract alone: the script maps what the environment asks for and writes the report.
    script = write(isolated, "net.py", """
        import json, os, sys
        sys.path.insert(0, %r)
        from partitioning import map_network
        from partitioning.synthetic import layered_graph
        mapping = map_network(layered_graph(), int(os.environ["SPINN_MAP_RANKS"]),
                              ranks_per_node=int(os.environ["SPINN_MAP_RANKS_PER_NODE"]))
        with open(os.environ["SPINN_MAP_ONLY"], "w") as f:
            json.dump(mapping.report(), f)
    """ % str(ROOT))
    code = spinn_map("-n", "6", "--ranks-per-node", "3", "--json", "out.json", str(script))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "6 ranks on 2 node(s) of 3 ranks" in out
    assert "routing entries: 168 before compression" in out
    report = json.loads((isolated / "out.json").read_text())
    assert report["n_ranks"] == 6 and report["ranks_per_node"] == 3
    assert len(report["sent_across_nodes_per_rank"]) == 6


def test_map_of_the_cuba_example(isolated, capsys):
    code = spinn_map("-n", "3", "--json", "cuba.json", str(ROOT / "examples" / "cuba.py"),
                     "--tstop", "10")
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads((isolated / "cuba.json").read_text())
    assert report["n_ranks"] == 3
    assert report["n_atoms"] == 4020  # 4000 neurons and 20 stimulus sources
    assert sum(report["atoms_per_rank"]) == 4020
    assert "load imbalance" in out and "time per stage" in out


def test_map_shows_estimated_and_measured_busy_time(isolated, capsys):
    import os
    import subprocess
    import sys
    stats = isolated / "stats.json"
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "cuba.py"), "--tstop", "20"],
                         env=dict(os.environ, SPINN_STATISTICS=str(stats), SPINN_QUIET="1"),
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    measured = json.loads(stats.read_text())
    assert measured["ranks"] == 1 and measured["busy_s_by_rank"][0] > 0
    code = spinn_map("--measured", str(stats), "--json", "map.json",
                     str(ROOT / "examples" / "cuba.py"), "--tstop", "20")
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads((isolated / "map.json").read_text())
    assert report["n_ranks"] == 1                       # taken from the statistics
    assert report["busy_s_per_s_per_rank"][0] > 0
    assert report["measured_busy_s_per_s_per_rank"][0] == pytest.approx(
        measured["busy_s_by_rank"][0] / measured["biological_s"])
    assert "busy est." in out and "busy run" in out and "work imbalance" in out
    # statistics of another rank count are refused, naming both
    code = spinn_map("-n", "3", "--measured", str(stats), str(ROOT / "examples" / "cuba.py"),
                     "--tstop", "20")
    err = capsys.readouterr().err
    assert code == 2 and "1 ranks" in err and "for 3" in err


def test_a_script_without_run_has_nothing_to_map(isolated, capsys):
    script = write(isolated, "quiet.py", "print('no run here')\n")
    assert spinn_map("-n", "2", str(script)) == 1
    assert "without calling run()" in capsys.readouterr().err


def test_a_failing_script_gives_its_status(isolated, capsys):
    script = write(isolated, "boom.py", "raise SystemExit(7)\n")
    assert spinn_map(str(script)) == 7
    assert "failed (exit status 7)" in capsys.readouterr().err


def test_usage_errors(isolated, capsys):
    assert spinn_map() == map_command.EXIT_USAGE
    assert "missing SCRIPT" in capsys.readouterr().err
    assert spinn_map("nowhere.py") == map_command.EXIT_USAGE
    assert "not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        spinn_map("-n", "0", "x.py")


def test_environment_and_memory_sizes():
    env = map_command.map_environment(8, "/tmp/r.json", ranks_per_node=4, bytes_per_rank=2**30)
    assert env == {"SPINN_MAP_ONLY": "/tmp/r.json", "SPINN_MAP_RANKS": "8",
                   "SPINN_MAP_RANKS_PER_NODE": "4", "SPINN_MAP_BYTES_PER_RANK": str(2**30)}
    assert map_command._bytes("4G") == 4 * 2**30 and map_command._bytes(None) is None


def test_map_save_writes_loadable_rank_images(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    from spinn.image import read_rank_image
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "launch.cli", "map", "-n", "3", "--save",
                          str(tmp_path / "images"), str(root / "examples" / "poisson_input.py")],
                         capture_output=True, text=True, cwd=root, timeout=120)
    assert out.returncode == 0, out.stderr
    paths = sorted((tmp_path / "images").glob("rank-*.msgpack"))
    assert [p.name for p in paths] == ["rank-0.msgpack", "rank-1.msgpack", "rank-2.msgpack"]
    images = [read_rank_image(str(p)) for p in paths]
    assert [img.rank for img in images] == [0, 1, 2]
    assert sum(img.n_local for img in images) > 0
    assert sum(img.synapses.n_synapses for img in images) > 0
    assert {img.mapping_digest for img in images} == {images[0].mapping_digest}
    # every rank that needs a slice is among its owner's routing destinations
    for img in images:
        for owner in images:
            wanted = np.intersect1d(img.needed_slices, owner.local_slices)
            for s in wanted.tolist():
                i = int(np.searchsorted(owner.local_slices, s))
                dest = owner.routing.slice_dest[owner.routing.slice_dest_ptr[i]:
                                                owner.routing.slice_dest_ptr[i + 1]]
                assert img.rank in dest


def test_map_of_a_large_pynn_script_costs_nothing_per_neuron():
    """40 populations of 250,000 neurons (10 million) described through PyNN
    and mapped onto 4,096 ranks, with no per-neuron objects (how long it takes is
    measured by hand: ``spinn map`` of benchmarks/map_100m.py, RESULTS.md)."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "launch.cli", "map", "-n", "4096",
                          "--ranks-per-node", "64", str(root / "benchmarks" / "map_100m.py"),
                          "--populations", "40"],
                         capture_output=True, text=True, cwd=root, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "10,000,000 neurons in 40 populations" in out.stdout
    assert "4096 ranks on 64 node(s)" in out.stdout
