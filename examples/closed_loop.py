"""Closed loop in real time: a network drives a simulated plant that drives it.

    python examples/closed_loop.py [--duration 3000]
    spinn run -n 2 examples/closed_loop.py

The plant is a position x (cm) on a line, pushed away from its set point 0 by
a constant drift (1 cm/s). A controller process (this file with
``--controller``, started by MPI rank 0) simulates it: every 20 ms it encodes
the error as spikes of the 'sensor' SpikeInjector (neurons 0-19: "too low",
20-39: "too high"; as many as 8 per cm of error) and moves x by 0.01 cm per
spike of the 'motor' population it received live in that time (first half
up, second half down). Each sensor neuron drives its motor neuron (one to
one), so the loop is a proportional controller through spiking neurons.
The controller prints the error next to that of the same plant without
control (open loop): the closed-loop error shrinks and stays bounded near
drift / gain, the open-loop one grows.

The simulation waits for the controller before it starts (the start
handshake: ``database_notify_port_num``), paces itself to the wall clock
(``real_time=True``), and tells the controller when the run ends.
"""
import argparse
import os
import subprocess
import sys
import threading
import time

N = 20                # sensor / motor neurons per direction
PERIOD_S = 0.020      # the controller's period
DRIFT = 1.0           # cm/s, the disturbance
STEP_CM = 0.01        # movement per motor spike
GAIN = 8.0            # sensor spikes per cm of error and period (at most N)
START_CM = 5.0


def controller(port: int) -> None:
    """The plant and its sensor, in their own process."""
    import numpy as np
    from spinn.live import LiveSpikesConnection

    counts = np.zeros(2, dtype=np.int64)        # motor spikes up, down since last period
    lock = threading.Lock()
    conn = LiveSpikesConnection(receive_labels=["motor"], send_labels=["sensor"],
                                local_port=port)

    def motor(label, time_ms, ids):
        with lock:
            counts[0] += int(np.count_nonzero(ids < N))
            counts[1] += int(np.count_nonzero(ids >= N))

    def loop(label, connection):
        x, x_open, t, rows = START_CM, START_CM, 0.0, []
        next_tick = time.perf_counter()
        while not connection.paused.is_set():
            with lock:
                up, down = int(counts[0]), int(counts[1])
                counts[:] = 0
            x += DRIFT * PERIOD_S + STEP_CM * (up - down)
            x_open += DRIFT * PERIOD_S
            t += PERIOD_S
            error = -x
            n = min(N, int(round(GAIN * abs(error))))
            if n:
                ids = np.arange(n) if error > 0 else N + np.arange(n)
                connection.send_spikes("sensor", ids)
            rows.append((t, abs(error), abs(x_open)))
            if len(rows) % 10 == 0:
                print(f"controller: t = {t:5.2f} s  error {error:+7.3f} cm  "
                      f"(open loop {-x_open:+7.3f} cm)  motor up {up:2d} down {down:2d}",
                      flush=True)
            next_tick += PERIOD_S
            time.sleep(max(0.0, next_tick - time.perf_counter()))
        late = rows[len(rows) // 2:] or rows
        closed = sum(r[1] for r in late) / max(len(late), 1)
        opened = sum(r[2] for r in late) / max(len(late), 1)
        print(f"controller: mean |error| over the second half: closed loop {closed:.3f} cm, "
              f"open loop {opened:.3f} cm (started at {START_CM:g} cm)", flush=True)
        done.set()

    done = threading.Event()
    conn.add_receive_callback("motor", motor)
    conn.add_start_callback("sensor", lambda label, c: threading.Thread(
        target=loop, args=(label, c), daemon=True).start())
    if not done.wait(timeout=600):
        print("controller: the simulation never started or ended", flush=True)
    conn.close()


def start_controller(port: int):
    """This file as the controller, in a process of its own (without the MPI
    launcher's environment, so it is not taken for another rank)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "PMIX_", "OMPI_", "MPI_", "HYDRA_", "SLURM_"))}
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--controller",
                             "--port", str(port)], env=env)


def simulation(duration: float, port: int) -> None:
    import spinn as sim

    rank = sim.setup(timestep=1.0, real_time=True)
    sensor = sim.Population(2 * N, sim.live.SpikeInjector(database_notify_port_num=port),
                            label="sensor")
    motor = sim.Population(2 * N, sim.IF_curr_exp(tau_refrac=2.0), label="motor")
    sim.Projection(sensor, motor, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=5.0, delay=1.0))
    sim.live.activate_live_output_for(motor, host="127.0.0.1", port=port)
    client = start_controller(port) if rank == 0 else None
    try:
        sim.run(duration)
    finally:
        sim.end()
        if client is not None:
            client.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3000.0, help="ms of simulated time")
    parser.add_argument("--port", type=int, default=17899,
                        help="the controller's UDP port (motor spikes and the handshake)")
    parser.add_argument("--controller", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.controller:
        controller(options.port)
    else:
        simulation(options.duration, options.port)
