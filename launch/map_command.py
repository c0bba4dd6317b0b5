"""``spinn map``: how a network would be mapped onto ranks, without running it.

``spinn map [-n N] [--ranks-per-node R] [--profile P] [--cluster FILE] [--json FILE] SCRIPT
[ARGS ...]`` runs SCRIPT once, as a plain process (no MPI), with these variables set:

``SPINN_MAP_ONLY``
    A temporary file. At its first ``run()`` the simulator maps the network for
    ``SPINN_MAP_RANKS`` ranks, writes ``Mapping.report()`` (plus timings) there as JSON and
    exits with status 0, before building anything.
``SPINN_MAP_RANKS``
    The number of ranks to map onto (``-n``; default: the profile's ranks).
``SPINN_MAP_RANKS_PER_NODE``
    Ranks per node (``--ranks-per-node``; default: the profile's ``ranks_per_node``), so the
    report splits traffic within and across nodes. Unset: one node.
``SPINN_MAP_BYTES_PER_RANK``
    The profile's ``memory_per_rank`` in bytes, when it has one.

Then it prints the report (`partitioning.report_text`) and, with ``--json FILE``, writes the
JSON there. The report estimates each rank's busy time (seconds of update and delivery per
simulated second, by the cost model the partitioner balances); ``--measured FILE`` adds a
run's measured busy time per rank, from the statistics ``spinn run --statistics FILE`` (or
``SPINN_STATISTICS=FILE``) wrote, for the same script on the same number of ranks. Exit status: 0, 2 for a bad command line or profile, the script's own status if
it fails, 1 if it ends without ever calling ``run()``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from launch.arguments import EXIT_USAGE, positive_int
from launch.profiles import ProfileError, load_profile

_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``map`` command to the ``spinn`` command's subparsers."""
    parser = subparsers.add_parser(
        "map",
        help="report how a network is mapped onto ranks (no MPI needed)",
        usage="spinn map [-h] [-n N] [--ranks-per-node R] [--profile P] [--cluster FILE] "
              "[--json FILE] [--save DIR] [--measured STATS] SCRIPT [ARGS ...]",
        description="Run SCRIPT up to its first run(), map its network onto N ranks and print "
                    "the mapping: neurons, synapses, memory and spike traffic per rank, load "
                    "imbalance, routing-table sizes, time per mapping stage.",
    )
    parser.add_argument("-n", dest="n_ranks", metavar="N", type=positive_int,
                        help="ranks to map onto (default: the profile's ranks)")
    parser.add_argument("--ranks-per-node", metavar="R", type=positive_int,
                        help="ranks per node (default: the profile's ranks_per_node, or one "
                             "node)")
    parser.add_argument("--profile", metavar="P", help="cluster profile for the defaults")
    parser.add_argument("--cluster", metavar="FILE", help="cluster file")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON here")
    parser.add_argument("--measured", metavar="STATS",
                        help="a run's statistics (spinn run --statistics STATS): show its "
                             "measured busy time per rank next to the estimate")
    parser.add_argument("--save", metavar="DIR",
                        help="also write one msgpack load image per rank into DIR "
                             "(rank-<r>.msgpack; see spinn.image)")
    parser.add_argument("command_line", metavar="SCRIPT [ARGS ...]", nargs=argparse.REMAINDER,
                        help="the Python script and its arguments")
    parser.set_defaults(handler=run)
    return parser


def _bytes(size: str | None) -> int | None:
    """``"4G"`` -> 4294967296; None stays None."""
    if not size:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT])B?\s*", size, re.IGNORECASE)
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()]) if match else None


def _fail(message: str, code: int) -> int:
    print(f"spinn map: {message}", file=sys.stderr)
    return code


def map_environment(n_ranks: int, report_path: str, *, ranks_per_node: int | None = None,
                    bytes_per_rank: int | None = None) -> dict[str, str]:
    """The environment variables that make a script stop at ``run()`` and write its mapping."""
    env = {"SPINN_MAP_ONLY": report_path, "SPINN_MAP_RANKS": str(n_ranks)}
    if ranks_per_node:
        env["SPINN_MAP_RANKS_PER_NODE"] = str(ranks_per_node)
    if bytes_per_rank:
        env["SPINN_MAP_BYTES_PER_RANK"] = str(bytes_per_rank)
    return env


def run(args: argparse.Namespace) -> int:
    """Run ``spinn map``; returns the exit code."""
    command_line = list(args.command_line)
    if command_line[:1] == ["--"]:
        command_line = command_line[1:]
    if not command_line:
        return _fail("missing SCRIPT (usage: spinn map [-n N] SCRIPT [ARGS ...])", EXIT_USAGE)
    script, *script_args = command_line
    if not Path(script).is_file():
        return _fail(f"script {script!r} not found", EXIT_USAGE)
    try:
        profile = load_profile(args.profile, args.cluster)
    except ProfileError as error:
        return _fail(str(error), EXIT_USAGE)
    measured = None
    if args.measured:
        try:
            with open(args.measured) as f:
                measured = json.load(f)
        except (OSError, ValueError) as error:
            return _fail(f"cannot read the statistics {args.measured!r}: {error}", EXIT_USAGE)
        if not args.n_ranks and isinstance(measured.get("ranks"), int):
            args.n_ranks = measured["ranks"]
    n_ranks = args.n_ranks or profile.default_ranks()
    ranks_per_node = args.ranks_per_node or profile.ranks_per_node
    with tempfile.TemporaryDirectory(prefix="spinn-map-") as tmp:
        report_path = os.path.join(tmp, "mapping.json")
        env = dict(os.environ, PYTHONUNBUFFERED="1", **map_environment(
            n_ranks, report_path, ranks_per_node=ranks_per_node,
            bytes_per_rank=_bytes(profile.memory_per_rank)))
        if args.save:
            env["SPINN_MAP_SAVE"] = os.path.abspath(args.save)
        try:
            status = subprocess.run([sys.executable, script, *script_args], env=env).returncode
        except OSError as error:
            return _fail(f"cannot start {sys.executable!r}: {error.strerror}", 1)
        if status != 0:
            return _fail(f"{script} failed (exit status {status}) before its network was mapped",
                         status if status > 0 else 1)
        if not os.path.exists(report_path):
            return _fail(f"{script} ended without calling run(): there was no network to map",
                         1)
        with open(report_path) as f:
            report = json.load(f)
    from partitioning import add_measured, report_text  # keeps `spinn --help` numpy-free

    if measured is not None:
        try:
            report = add_measured(report, measured)
        except ValueError as error:
            return _fail(f"--measured {args.measured}: {error}", EXIT_USAGE)

    print(f"spinn map: {script} on {n_ranks} ranks")
    print(report_text(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"report written to {args.json}")
    return 0
