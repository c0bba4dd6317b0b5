"""A live-spikes client in its own process (tests/e2e/test_live.py):
    live_client.py PORT LABEL OUT.npz DONE_FILE
receives until DONE_FILE exists, then writes (time_ms, index) of every spike."""
import sys
import time
from pathlib import Path

import numpy as np

from spinn.live import LiveSpikesConnection

port, label, out, done = int(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
got, arrival = [], []
conn = LiveSpikesConnection(receive_labels=[label], local_port=port)
conn.add_receive_callback(label, lambda lab, t, ids: (got.append((t, ids.copy())),
                                                      arrival.append(time.perf_counter())))
Path(out + ".ready").write_text("ready")
while not done.exists():
    time.sleep(0.05)
time.sleep(0.3)
conn.close()
times = np.concatenate([np.full(ids.size, t) for t, ids in got]) if got else np.zeros(0)
index = np.concatenate([ids for _, ids in got]) if got else np.zeros(0, np.int64)
np.savez(out, times=times, index=index, dropped=conn.dropped)
