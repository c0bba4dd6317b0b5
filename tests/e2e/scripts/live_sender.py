"""A live client in its own process (tests/e2e/test_live_input.py):
    live_sender.py PORT OUT_DIR N_SENDS [bad]
Listens on PORT (the simulation hand-shakes with it), at START sends N_SENDS
datagrams of 'sensor' spikes, one every 3 ms (with 'bad': five bad datagrams
first); writes OUT_DIR/client.json when the run pauses."""
import json
import sys
import threading
import time

import numpy as np

from spinn.live import LiveSpikesConnection
from spinn.livewire import encode_input

port, out, n_sends = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
bad = len(sys.argv) > 4 and sys.argv[4] == "bad"
conn = LiveSpikesConnection(send_labels=["sensor"], local_port=port)
state = {"started": 0, "sent": 0}


def send_all(label, connection):
    state["started"] += 1
    sim_address = connection.remote

    def run():
        if bad:
            good = encode_input("sensor", [1, 2])[0]
            for data in (b"SPNX" + good[4:], good[:4] + b"\x07" + good[5:], good[:-2],
                         encode_input("nobody", [1])[0], encode_input("sensor", [40])[0]):
                connection.receiver.send(data, sim_address)
        rng = np.random.default_rng(7)
        for _ in range(n_sends):
            ids = rng.integers(0, 40, size=rng.integers(1, 6))
            connection.send_spikes(label, ids)
            state["sent"] += ids.size
            time.sleep(0.003)
    threading.Thread(target=run, daemon=True).start()


conn.add_start_callback("sensor", send_all)
if not conn.paused.wait(timeout=120):
    sys.exit("the simulation never paused")
conn.close()
with open(out + "/client.json", "w") as f:
    json.dump(state, f)
