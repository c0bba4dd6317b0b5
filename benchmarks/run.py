"""Benchmark runner: spinn on 1 and 2 ranks, and the peers, side by side in one run.

    python benchmarks/run.py                                   # cuba, brunel on spinn
    python benchmarks/run.py --peers ~/peers/bin/python        # + NEST and Brian2
    python benchmarks/run.py --networks brunel50k --tstop 1000 --peers ~/peers/bin/python
    python benchmarks/run.py --networks quiet           # the fixed cost of a step

For each network prints build and simulate time, synaptic events per second,
busy time (update + deliver) per rank and its imbalance (slowest / mean),
the real-time factor, spikes and rate, and the ratio of each simulate time
to NEST's (1 thread) in the same run: this machine is shared and absolute
times drift, ratios measured side by side do not. ``--json FILE`` keeps
every number. Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from launch.launcher import find_launcher  # noqa: E402


def run(command: list[str]) -> dict:
    proc = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def spinn_command(network: str, ranks: int, tstop: float, extra=()) -> list[str]:
    script = [str(HERE / "bench_spinn.py"), network, "--tstop", str(tstop), *extra]
    if ranks == 1:
        return [sys.executable, *script]
    return [find_launcher("mpiexec"), "-n", str(ranks), sys.executable, "-m", "mpi4py", *script]


def row(result: dict, nest: dict | None) -> str:
    busy = result["busy_s"]
    mean = sum(busy) / len(busy)
    ratio = f"{result['simulate_s'] / nest['simulate_s']:.2f}" if nest else "—"
    name = f"{result['simulator']} {result['ranks']} rank" + ("s" if result["ranks"] > 1 else "")
    return (f"| {name} | {result['build_s']:.2f} | {result['simulate_s']:.2f} | {ratio} | "
            f"{result['events_per_s'] / 1e6:.1f} | "
            f"{' / '.join(f'{b:.2f}' for b in busy)} | {max(busy) / mean:.2f} | "
            f"{result['realtime_factor']:.2f} | {1e6 * result['simulate_s'] / result['steps']:.1f} | "
            f"{result['spikes']:,} | {result['rate_hz']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", default="cuba,brunel")
    parser.add_argument("--tstop", type=float, default=1000.0)
    parser.add_argument("--ranks", default="1,2")
    parser.add_argument("--peers", metavar="PYTHON",
                        help="a Python with nest-simulator and brian2 (e.g. ~/peers/bin/python)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    everything = []
    for network in args.networks.split(","):
        results = []
        for ranks in (int(r) for r in args.ranks.split(",")):
            results.append(run(spinn_command(network, ranks, args.tstop)))
        nest = None
        if args.peers:
            nest = run([args.peers, str(HERE / "peers.py"), "nest", network,
                        "--tstop", str(args.tstop)])
            results += [nest, run([args.peers, str(HERE / "peers.py"), "brian2", network,
                                   "--tstop", str(args.tstop)])]
        print(f"\n{network}, {args.tstop:g} ms, {results[0]['neurons']:,} neurons, "
              f"{results[0]['synapses']:,} synapses")
        print("| simulator | build (s) | simulate (s) | / NEST | events (M/s) | busy per rank (s) "
              "| imbalance | real-time factor | µs/step | spikes | rate (Hz) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for result in results:
            print(row(result, nest))
        everything += results
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()
