"""Live input over real UDP sockets on localhost, with the client in its own
process: injected spikes are recorded at the step the injection log names,
replaying the log reproduces the run spike for spike on 1 and 2 ranks, bad
datagrams are dropped, counted and reported, the start handshake waits for a
client and fails clearly without one, and the closed-loop example controls."""
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spinn.livewire import (HELLO, READY, WireError, decode_control, decode_input,
                            encode_control, encode_input)

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "e2e" / "scripts"
NET = SCRIPTS / "live_inject_net.py"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env():
    e = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    e.pop("SPINN_VIRTUAL_RANKS", None)
    return e


def command(ranks, script, *args):
    head = ([sys.executable] if ranks == 1 else
            [sys.executable, "-m", "launch.cli", "run", "-n", str(ranks)])
    return head + [str(script), *map(str, args)]


def run(ranks, script, *args, timeout=300, extra_env=None):
    return subprocess.run(command(ranks, script, *args), cwd=ROOT,
                          env=dict(env(), **(extra_env or {})), capture_output=True,
                          text=True, timeout=timeout)


def client(port, out, n_sends, *flags):
    return subprocess.Popen([sys.executable, str(SCRIPTS / "live_sender.py"), str(port),
                             str(out), str(n_sends), *flags], cwd=ROOT, env=env())


def recorded(out):
    rec = np.load(Path(out) / "rec.npz")
    return rec["gid"], rec["t"]


def test_input_and_control_wire_formats():
    (datagram,) = encode_input("sensor", [5, 1, 5])
    label, ids = decode_input(datagram)
    assert label == "sensor" and ids.tolist() == [5, 1, 5]
    assert datagram[:4] == b"SPNI" and len(datagram) == 12 + 6 + 12
    assert len(encode_input("big", np.arange(40000))) == 3
    for bad in (b"", b"SPNX" + datagram[4:], datagram[:-1], datagram + b"\0",
                datagram[:4] + b"\x02" + datagram[5:]):
        with pytest.raises(WireError):
            decode_input(bad)
    with pytest.raises(ValueError):
        encode_input("sensor", [-1])
    hello = encode_control(HELLO, 0xDEADBEEF, 17896, 12.5)
    assert len(hello) == 20 and decode_control(hello) == (HELLO, 0xDEADBEEF, 17896, 12.5)
    with pytest.raises(WireError):
        decode_control(hello[:4] + b"\x01\x09" + hello[6:])     # unknown kind


@pytest.mark.parametrize("ranks", [1, 2])
def test_injections_logged_recorded_and_replayed_bit_for_bit(tmp_path, ranks):
    port = free_port()
    sender = client(port, tmp_path, 60, "bad")
    try:
        proc = run(ranks, NET, tmp_path, port)
        assert proc.returncode == 0, proc.stderr
    finally:
        sender.wait(timeout=60)
    assert sender.returncode == 0
    sent = json.loads((tmp_path / "client.json").read_text())
    assert sent["started"] == 1                     # START came once, callbacks ran
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())["live_input"]
    assert prov["dropped"] == {"bad_format": 3, "unknown_label": 1, "index_out_of_range": 1}
    assert prov["spikes"] == sent["sent"] and prov["datagrams"] == 60

    from spinn.live import read_injections
    log = read_injections(tmp_path / "run")
    assert log.dt_ms == 1.0 and log.populations == {"sensor": 40}
    stamps, idx = log.spikes("sensor")
    assert stamps.size == sent["sent"]
    gid, t = recorded(tmp_path)
    sensor = gid < 40                               # the sensor's gids are 0..39
    # recorded at exactly the step the log names (time = stamp * dt), multiplicity kept
    want = np.lexsort((stamps, idx))
    np.testing.assert_array_equal(gid[sensor], idx[want])
    np.testing.assert_array_equal(t[sensor], stamps[want] * 1.0)
    assert (~sensor).sum() > 100                    # the network did something with them

    for replay_ranks in (1, 2):
        out = tmp_path / f"replay{replay_ranks}"
        out.mkdir()
        proc = run(replay_ranks, NET, out, 0, tmp_path / "run" / "injections.msgpack")
        assert proc.returncode == 0, proc.stderr
        g, tt = recorded(out)
        np.testing.assert_array_equal(g, gid)
        np.testing.assert_array_equal(tt, t)


def test_handshake_waits_for_a_late_client(tmp_path):
    port = free_port()
    sim = subprocess.Popen(command(1, NET, tmp_path, port), cwd=ROOT, env=env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4.0)         # the 400 ms run would long be over, had it not waited
    assert sim.poll() is None
    sender = client(port, tmp_path, 30)
    try:
        _, err = sim.communicate(timeout=120)
        assert sim.returncode == 0, err
    finally:
        sender.wait(timeout=60)
    assert json.loads((tmp_path / "client.json").read_text())["started"] == 1
    gid, _ = recorded(tmp_path)
    assert (gid < 40).sum() > 0                     # its spikes went in


@pytest.mark.parametrize("ranks", [1, 2])
def test_handshake_times_out_naming_the_client(tmp_path, ranks):
    port = free_port()
    proc = run(ranks, NET, tmp_path, port, extra_env={"SPINN_LIVE_TIMEOUT": "1"})
    assert proc.returncode != 0
    assert "waited 1 s for live clients" in proc.stderr
    assert f"127.0.0.1:{port} (SpikeInjector 'sensor' database_notify_port_num)" in proc.stderr


def test_connection_answers_hello_and_runs_start_callbacks():
    from spinn.live import LiveSpikesConnection
    from spinn.livewire import PAUSE, START
    conn = LiveSpikesConnection(send_labels=["sensor"], local_port=0)
    started, paused = [], []
    conn.add_start_callback("sensor", lambda label, c: started.append((label, c)))
    conn.add_pause_stop_callback("sensor", lambda label, c: paused.append(label))
    with pytest.raises(RuntimeError, match="remote_port"):
        conn.send_spikes("sensor", [1])
    with pytest.raises(ValueError, match="send_labels"):
        conn.send_spikes("other", [1])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sim:
        sim.bind(("127.0.0.1", 0))
        sim.settimeout(5)
        me = ("127.0.0.1", conn.local_port)
        sim.sendto(encode_control(HELLO, 77, sim.getsockname()[1]), me)
        assert decode_control(sim.recvfrom(100)[0])[:2] == (READY, 77)
        for _ in range(2):                          # a repeated START runs them once
            sim.sendto(encode_control(START, 77), me)
        assert conn.started.wait(5)
        conn.send_spikes("sensor", [3, 4])          # to the port HELLO announced
        label, ids = decode_input(sim.recvfrom(100)[0])
        assert label == "sensor" and ids.tolist() == [3, 4]
        sim.sendto(encode_control(PAUSE, 77), me)
        assert conn.paused.wait(5)
    time.sleep(0.1)
    conn.close()
    assert started == [("sensor", conn)] and paused == ["sensor"]


@pytest.mark.parametrize("ranks", [1, 2])
def test_closed_loop_example_controls(tmp_path, ranks):
    proc = run(ranks, ROOT / "examples" / "closed_loop.py", "--duration", "800",
               "--port", free_port(), extra_env={"SPINN_OUTPUT_ROOT": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("controller: t =")]
    assert len(lines) >= 3
    last = re.search(r"closed loop ([\d.]+) cm, open loop ([\d.]+) cm", proc.stdout)
    assert last, proc.stdout
    closed, opened = float(last.group(1)), float(last.group(2))
    assert closed < 0.5 * opened                    # it controls: the open loop drifts away
    assert proc.stdout.count("spinn: live input on UDP port") == 1


def test_an_injector_added_after_the_first_run_is_logged_and_replayed(tmp_path):
    """The network grows by a SpikeInjector (with its own port) after a run:
    its spikes enter, the log learns its size, and its replay spikes at the
    logged steps."""
    import spinn as sim
    import spinn.live
    from spinn.livewire import encode_input
    from spinn.pynn.simulator import state
    sim.setup(timestep=1.0, quiet=True, output=str(tmp_path))
    try:
        a = sim.Population(3, spinn.live.SpikeInjector(), label="a")
        out = sim.Population(3, sim.IF_curr_exp(), label="out")
        sim.Projection(a, out, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0))
        sim.run(10.0)
        port = free_port()
        b = sim.Population(4, spinn.live.SpikeInjector(port=port), label="b")
        b.record("spikes")
        out_b = sim.Population(4, sim.IF_curr_exp(), label="out_b")
        sim.Projection(b, out_b, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0))
        sim.run(1.0)                            # the new injector is mapped and listening
        assert port in state.simulation.live_input.bound and port != \
            state.simulation.live_input.port    # on its own port, besides the first run's
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for datagram in encode_input("b", [1, 3, 3]):
                s.sendto(datagram, ("127.0.0.1", port))
        time.sleep(0.2)                         # in the socket before the run reads it
        sim.run(10.0)
        trains = b.get_data("spikes").segments[0].spiketrains
        got = {i: list(np.asarray(t.magnitude)) for i, t in enumerate(trains) if len(t)}
    finally:
        sim.end()
    log = spinn.live.read_injections(tmp_path)
    assert log.populations == {"a": 3, "b": 4}
    stamps, indices = log.spikes("b")
    assert sorted(indices.tolist()) == [1, 3, 3] and len(set(stamps.tolist())) == 1
    t = float(stamps[0]) * log.dt_ms
    assert got == {1: [t], 3: [t, t]}                  # recorded as the log says
    sim.setup(timestep=1.0, quiet=True)
    try:
        again = sim.Population(4, spinn.live.replay(log, "b"), label="b")
        again.record("spikes")
        sim.run(21.0)
        trains = again.get_data("spikes").segments[0].spiketrains
        assert {i: list(np.asarray(t.magnitude)) for i, t in enumerate(trains) if len(t)} == got
    finally:
        sim.end()
