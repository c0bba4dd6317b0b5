"""Live spike output over real UDP sockets on localhost, to a client in
another process: what it receives equals what was recorded, on 1 and 2 ranks."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spinn.livewire import WireError, decode, encode

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "e2e" / "scripts"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("ranks", [1, 2])
def test_client_receives_exactly_the_recorded_spikes(tmp_path, ranks):
    port = free_port()
    done = tmp_path / "done"
    client = subprocess.Popen([sys.executable, str(SCRIPTS / "live_client.py"), str(port),
                               "motor", str(tmp_path / "got.npz"), str(done)])
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "got.npz.ready").exists():
            assert client.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        env = dict(os.environ, SPINN_QUIET="1")
        env.pop("SPINN_VIRTUAL_RANKS", None)
        cmd = ([sys.executable, str(SCRIPTS / "live_net.py")] if ranks == 1 else
               [sys.executable, "-m", "launch.cli", "run", "-n", "2",
                str(SCRIPTS / "live_net.py")])
        proc = subprocess.run(cmd + [str(port), str(tmp_path / "rec.npz")], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
    finally:
        done.write_text("done")
        client.wait(timeout=30)
    got, rec = np.load(tmp_path / "got.npz"), np.load(tmp_path / "rec.npz")
    assert rec["times"].size > 500
    key = lambda t, i: np.sort(np.round(t * 10).astype(np.int64) * 1000 + i)   # noqa: E731
    np.testing.assert_array_equal(key(got["times"], got["index"]),
                                  key(rec["times"], rec["index"]))
    assert int(got["dropped"]) == 0


def test_wire_format_round_trip_and_bad_datagrams():
    ids = np.array([3, 7, 99])
    (datagram,) = encode("motor", 12, 1.2, ids)
    assert decode(datagram)[0] == "motor" and decode(datagram)[1] == 12
    np.testing.assert_array_equal(decode(datagram)[3], ids)
    assert len(encode("big", 1, 0.1, np.arange(40000))) == 3
    for bad in (b"", b"XXXX" + datagram[4:], datagram[:-1], datagram[:4] + b"\x09" + datagram[5:]):
        with pytest.raises(WireError):
            decode(bad)


def test_bad_datagrams_are_dropped_and_counted():
    from spinn.live import LiveSpikesConnection
    conn = LiveSpikesConnection(receive_labels=["a"], local_port=0)
    seen = []
    conn.add_receive_callback("a", lambda label, t, ids: seen.append(ids))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for data in (b"garbage", encode("b", 1, 0.1, np.array([1]))[0],
                     encode("a", 2, 0.2, np.array([4, 5]))[0]):
            s.sendto(data, ("127.0.0.1", conn.local_port))
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    conn.close()
    assert len(seen) == 1 and seen[0].tolist() == [4, 5]
    assert conn.dropped == 2
