"""Live I/O numbers: latencies of live output and input, and the largest
network that keeps real time.

    python benchmarks/live_latency.py latency [--ranks 2] [--dt 1.0] [--duration 3000]
    python benchmarks/live_latency.py capacity [--ranks 2] [--dt 1.0] [--sizes 500,1000,...]

``latency``: a client process sends one spike to a 'sensor' SpikeInjector
every 7 ms (wall clock) and receives the live output of 'motor' (one to one
from the sensor, delay one step). The ranks record, with the machine's
monotonic clock (the same in every process on one machine), when each step
starts and ends, when each live-output datagram is sent and when rank 0
reads the live port; the client when it sent and received. Reported (median,
p99): output latency (rank's send -> client's receive, and the spikes' step
start -> receive), input latency (client's send -> the start of the step
that injects it, and -> the end of that step, when the spike has been
emitted into the network), and the round trip (send -> the motor spike it
caused arrives at the client).

``capacity``: a Brunel-like network (IF_curr_delta, N_E = 4 N_I, 10 %
connectivity, J = 0.1 mV, g = 5, delay 1.5 ms, a 20 kHz Poisson drive per
neuron, one to one) of growing size, run with ``real_time=True`` on the
ranks given; prints each size's fraction of steps on time (provenance.json)
and the largest size with >= 99 %.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
N = 10


def _env():
    env = dict(os.environ, PYTHONPATH=str(ROOT), SPINN_QUIET="1", PYTHONUNBUFFERED="1")
    env.pop("SPINN_VIRTUAL_RANKS", None)
    return env


def _client_env():
    return {k: v for k, v in _env().items()
            if not k.startswith(("PMI_", "PMIX_", "OMPI_", "MPI_", "HYDRA_"))}


def _command(ranks, *args):
    head = ([sys.executable] if ranks == 1 else
            [sys.executable, "-m", "launch.cli", "run", "-n", str(ranks)])
    return head + [str(HERE), *map(str, args)]


# -- latency ----------------------------------------------------------------------------

def sim_latency(out: str, port: int, dt: float, duration: float) -> None:
    """The simulation, with the engine's steps and sends timed (patched here)."""
    import spinn as sim
    from spinn import livewire, runtime, simulation

    clock = time.perf_counter
    starts, ends, sends, drains = {}, {}, {}, {}
    advance = runtime.RankRuntime.advance

    def timed_advance(self, k):
        starts[k] = clock()
        result = advance(self, k)
        ends[k] = clock()
        return result
    runtime.RankRuntime.advance = timed_advance
    send = livewire.LiveOutput.send

    def timed_send(self, stamp, dt_ms, gids):
        sends.setdefault(stamp, clock())
        send(self, stamp, dt_ms, gids)
    livewire.LiveOutput.send = timed_send
    inject = simulation.Simulation._inject

    def timed_inject(self, live, k):
        drains[k] = clock()
        inject(self, live, k)
    simulation.Simulation._inject = timed_inject

    rank = sim.setup(timestep=dt, real_time=True, output=out + "/run")
    sensor = sim.Population(N, sim.live.SpikeInjector(database_notify_port_num=port),
                            label="sensor")
    motor = sim.Population(N, sim.IF_curr_exp(tau_refrac=0.1), label="motor")
    sim.Projection(sensor, motor, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=20.0, delay=dt))
    sim.live.activate_live_output_for(motor, host="127.0.0.1", port=port)
    sim.run(duration)
    sim.end()
    with open(f"{out}/rank{rank}.json", "w") as f:
        json.dump({"starts": starts, "ends": ends, "sends": sends, "drains": drains}, f)


def client_latency(out: str, port: int) -> None:
    from spinn.live import LiveSpikesConnection
    clock = time.perf_counter
    sent, got = [], []
    conn = LiveSpikesConnection(receive_labels=["motor"], send_labels=["sensor"],
                                local_port=port)
    conn.add_receive_callback("motor", lambda label, t, ids: got.append(
        (clock(), t, ids.tolist())))

    def run(label, c):
        i = 0
        while not c.paused.is_set():
            sent.append((clock(), i % N))
            c.send_spikes("sensor", [i % N])
            i += 1
            time.sleep(0.007)
    conn.add_start_callback("sensor", lambda label, c: threading.Thread(
        target=run, args=(label, c), daemon=True).start())
    conn.paused.wait(timeout=600)
    time.sleep(0.2)
    conn.close()
    with open(f"{out}/client.json", "w") as f:
        json.dump({"sent": sent, "got": got}, f)


def _stats(values_s) -> str:
    v = np.asarray(values_s) * 1000.0
    return f"median {np.median(v):.3f} ms, p99 {np.percentile(v, 99):.3f} ms (n = {v.size})"


def latency(ranks: int, dt: float, duration: float) -> dict:
    from spinn.live import read_injections
    port = _free_port()
    with tempfile.TemporaryDirectory() as out:
        client = subprocess.Popen([sys.executable, str(HERE), "_client", out, str(port)],
                                  env=_client_env())
        proc = subprocess.run(_command(ranks, "_sim", out, port, dt, duration), env=_env(),
                              capture_output=True, text=True, timeout=600)
        client.wait(timeout=60)
        if proc.returncode:
            raise SystemExit(proc.stderr)
        c = json.load(open(f"{out}/client.json"))
        ranks_data = [json.load(open(p)) for p in sorted(Path(out).glob("rank*.json"))]
        log = read_injections(f"{out}/run")
    starts = {int(k): v for r in ranks_data for k, v in r["starts"].items()}
    ends = {int(k): v for r in ranks_data for k, v in r["ends"].items()}
    sends = {int(k): v for r in ranks_data for k, v in r["sends"].items()}
    drains = {int(k): v for r in ranks_data for k, v in r["drains"].items()}
    stamp_of = lambda t_ms: int(round(t_ms / dt))          # noqa: E731
    out_send = [arrival - sends[stamp_of(t)] for arrival, t, _ in c["got"]
                if stamp_of(t) in sends]
    out_step = [arrival - starts[stamp_of(t) - 1] for arrival, t, _ in c["got"]
                if stamp_of(t) - 1 in starts]
    # the i-th injected spike is the i-th one sent (one per datagram, 7 ms apart)
    stamps = [stamp for _, stamp, _, ids in log.records for _ in ids]
    pairs = list(zip(c["sent"], stamps))
    in_start = [drains[s - 1] - t for (t, _), s in pairs]
    in_end = [ends[s - 1] - t for (t, _), s in pairs]
    # round trip: the motor spike of the injected neuron, d steps later
    arrivals = {}
    for arrival, t, ids in c["got"]:
        for i in ids:
            arrivals.setdefault((stamp_of(t), i), arrival)
    trip = []
    for (t, i), s in pairs:
        for later in range(s + 1, s + 200):
            if (later, i) in arrivals:
                trip.append(arrivals[(later, i)] - t)
                break
    result = {"output: rank send -> client receive": _stats(out_send),
              "output: step start -> client receive": _stats(out_step),
              "input: client send -> start of the injecting step": _stats(in_start),
              "input: client send -> end of the injecting step": _stats(in_end),
              "round trip: send -> caused motor spike received": _stats(trip)}
    print(f"live latency, {ranks} rank(s), dt = {dt} ms, {duration:g} ms real time:")
    for name, value in result.items():
        print(f"  {name}: {value}")
    return result


def _free_port() -> int:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- capacity -----------------------------------------------------------------------------

def sim_capacity(out: str, n: int, dt: float, duration: float, spin: float) -> None:
    import spinn as sim
    from spinn import simulation
    simulation.Pacing.SPIN_S = spin
    sim.setup(timestep=dt, real_time=True, output=out)
    n_exc, n_inh = 4 * n // 5, n - 4 * n // 5
    cell = sim.IF_curr_delta(tau_m=20.0, cm=0.25, v_rest=0.0, v_reset=0.0, v_thresh=20.0,
                             tau_refrac=2.0, i_offset=0.0)
    exc = sim.Population(n_exc, cell, label="exc")
    inh = sim.Population(n_inh, cell, label="inh")
    for pop in (exc, inh):
        pop.initialize(v=sim.RandomDistribution("uniform", (0.0, 20.0)))
        drive = sim.Population(pop.size, sim.SpikeSourcePoisson(rate=20000.0),
                               label=f"drive-{pop.label}")
        sim.Projection(drive, pop, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=0.1, delay=1.5), receptor_type="excitatory")
    for pre, w, receptor in ((exc, 0.1, "excitatory"), (inh, -0.5, "inhibitory")):
        for post in (exc, inh):
            sim.Projection(pre, post, sim.FixedProbabilityConnector(0.1),
                           sim.StaticSynapse(weight=w, delay=1.5), receptor_type=receptor)
    sim.run(duration)
    sim.end()


def capacity(ranks: int, dt: float, duration: float, sizes, spin: float) -> dict:
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as out:
            proc = subprocess.run(_command(ranks, "_capacity", out, n, dt, duration, spin),
                                  env=_env(), capture_output=True, text=True, timeout=900)
            if proc.returncode:
                raise SystemExit(proc.stderr)
            prov = json.load(open(f"{out}/provenance.json"))
        on_time = prov["real_time"]["on_time_fraction"]
        rate = prov["neuron_spikes"] / n / prov["biological_s"]
        rows.append((n, on_time, rate, max(prov["real_time"]["worst_lateness_ms_by_rank"])))
        print(f"  {n:6d} neurons ({rate:5.1f} Hz): {100 * on_time:6.2f} % of steps on time, "
              f"worst {rows[-1][3]:.2f} ms late", flush=True)
    ok = [n for n, on, _, _ in rows if on >= 0.99]
    print(f"largest network with >= 99 % of steps on time at dt = {dt} ms on {ranks} "
          f"rank(s): {max(ok) if ok else 'none of those tried'} neurons")
    return {"rows": rows, "largest": max(ok) if ok else None}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_sim":
        sim_latency(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_client":
        client_latency(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_capacity":
        sim_capacity(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]),
                     float(sys.argv[6]))
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("what", choices=("latency", "capacity"))
        parser.add_argument("--ranks", type=int, default=2)
        parser.add_argument("--dt", type=float, default=1.0)
        parser.add_argument("--duration", type=float, default=3000.0, help="ms")
        parser.add_argument("--sizes", default="250,500,1000,2000,4000,8000")
        parser.add_argument("--spin", type=float, default=0.0005,
                            help="seconds the pacing spins (instead of sleeping) before a "
                                 "step is due (spinn's default 0.0005)")
        options = parser.parse_args()
        if options.what == "latency":
            latency(options.ranks, options.dt, options.duration)
        else:
            capacity(options.ranks, options.dt, options.duration,
                     [int(s) for s in options.sizes.split(",")], options.spin)
