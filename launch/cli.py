"""The ``spinn`` command.

``spinn run [-n N] [--profile P] [--cluster FILE] [--print] SCRIPT [ARGS...]`` starts SCRIPT on N
MPI ranks as ``<launcher> -n N <mpi_args...> <python> -m launch.rank SCRIPT ARGS...``, with the
launcher and its arguments taken from a cluster profile (see `launch.profiles`). A syntax error
is reported before any rank starts; an uncaught exception, a rank killed by a signal, or Ctrl-C
end the whole job and are reported once (see `launch.rank`, `launch.reports`). The exit code
is the job's. ``spinn submit``, ``spinn status`` and ``spinn cancel`` write, submit and follow
batch jobs on Slurm or PBS (see `launch.submit_command`). ``spinn map`` reports how a script's network is mapped (see `launch.map_command`).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Sequence

from launch import map_command, output_commands, submit_command
from launch.arguments import EXIT_NOT_FOUND, EXIT_USAGE, positive_float, positive_int
from launch.launcher import LauncherNotFoundError, build_launch_line, find_launcher, run_job
from launch.profiles import ProfileError, load_profile
from launch.rank import JOB_DIR_VARIABLE

#: Exit code when the launcher cannot be found or started (the shell's "command not found").
EXIT_NO_LAUNCHER = EXIT_NOT_FOUND


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spinn", description="Run spinn simulations on MPI ranks, locally or on a cluster."
    )
    parser.add_argument("--version", action="version", version=f"spinn {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run a script on N MPI ranks",
        usage="spinn run [-h] [-n N] [--profile P] [--cluster FILE] [--quiet] [--statistics FILE] "
        "[--real-time] [--output DIR] [--checkpoint-every T [--checkpoint DIR]] "
        "[--spinnaker-compat] [--print] SCRIPT [ARGS ...]",
        description="Run SCRIPT on N MPI ranks: <launcher> -n N <mpi_args> python -m launch.rank "
        "SCRIPT ARGS. An uncaught exception on any rank, or a rank killed by a signal, ends the "
        "whole job, and spinn says once what happened and on which ranks.",
    )
    run.add_argument(
        "-n", dest="n_ranks", metavar="N", type=positive_int,
        help="number of MPI ranks (default: the profile's ranks; workstation: physical cores)",
    )
    run.add_argument("--profile", metavar="P", help="cluster profile (default: the file's default)")
    run.add_argument(
        "--cluster", metavar="FILE",
        help="cluster file (default: ./cluster.yaml, then $SPINN_CLUSTER, then the packaged one)",
    )
    run.add_argument(
        "--quiet", action="store_true",
        help="no progress bar and no summary from the simulation",
    )
    run.add_argument(
        "--statistics", metavar="FILE",
        help="write the run's statistics (busy time per rank, phases, spikes) to FILE as JSON "
             "at end(); `spinn map --measured FILE` compares them with the mapping's estimate",
    )
    run.add_argument(
        "--real-time", action="store_true",
        help="pace the simulation to the wall clock (step k starts no earlier than k dt after "
             "the run began); late steps are counted and reported",
    )
    run.add_argument(
        "--output", metavar="DIR",
        help="where every rank streams its recordings, and rank 0 writes run.json and "
             "provenance.json (default: spinn_output/<script>/<timestamp>); read it with "
             "spinn.io.read(DIR), spinn report DIR, spinn plot DIR",
    )
    run.add_argument(
        "--checkpoint-every", metavar="T", type=positive_float,
        help="stop every T ms of biological time to write a checkpoint (atomically; the "
             "previous one is kept until the new one is complete); sim.restore_checkpoint() "
             "continues from it on any number of ranks",
    )
    run.add_argument(
        "--checkpoint", metavar="DIR", default="spinn_checkpoint",
        help="the checkpoint directory for --checkpoint-every (default: ./spinn_checkpoint)",
    )
    run.add_argument(
        "--spinnaker-compat", action="store_true",
        help="run a sPyNNaker script: `import pyNN.spiNNaker` gives spinn.compat, spinn's "
             "sPyNNaker dialect (sets SPINN_SPINNAKER_COMPAT=1)",
    )
    run.add_argument(
        "--print", dest="print_only", action="store_true",
        help="print the launch line and exit without running it",
    )
    # One REMAINDER positional, so everything from SCRIPT on goes to the script untouched.
    run.add_argument(
        "command_line", metavar="SCRIPT [ARGS ...]", nargs=argparse.REMAINDER,
        help="the Python script to run on every rank, and its arguments",
    )
    run.set_defaults(handler=_run)

    map_command.register(commands)
    submit_command.register(commands)  # submit, status, cancel
    output_commands.register(commands)  # report, plot
    return parser


def _version() -> str:
    """The installed distribution's version (spinn-snn)."""
    try:
        from importlib.metadata import version
        return version("spinn-snn")
    except Exception:       # running from a source tree that is not installed
        return "unknown"


def _run(options: argparse.Namespace) -> int:
    command_line = options.command_line
    if command_line[:1] == ["--"]:
        command_line = command_line[1:]
    if not command_line:
        return _fail("run: missing SCRIPT (usage: spinn run [-n N] SCRIPT [ARGS ...])", EXIT_USAGE)
    script, *args = command_line
    try:
        profile = load_profile(options.profile, options.cluster)
    except ProfileError as error:
        return _fail(str(error), EXIT_USAGE)
    if not Path(script).is_file():
        return _fail(f"run: script {script!r} not found", EXIT_USAGE)
    n_ranks = options.n_ranks or profile.default_ranks()
    try:
        launcher = find_launcher(profile.launcher)
    except LauncherNotFoundError as error:
        if not options.print_only:
            return _fail(str(error), EXIT_NO_LAUNCHER)
        launcher = profile.launcher  # a dry run may describe a machine other than this one
    line = build_launch_line(profile, n_ranks, script, args, launcher=launcher,
                             rank_module="launch.rank")
    if options.print_only:
        print(shlex.join(line))
        return 0
    syntax_error = _syntax_error(script)
    if syntax_error:  # once, here, instead of once per rank
        sys.stderr.write(syntax_error)
        return 1
    # Unbuffered ranks: output of a rank that is killed by an abort is not lost in a buffer.
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # Under mpiexec a rank's stderr is a pipe: tell rank 0 whether a person is watching,
    # so that it draws the run() progress bar (and --quiet turns bar and summary off).
    if profile.memory_per_rank is not None:   # spinn.memory refuses what does not fit
        env.setdefault("SPINN_MEMORY_PER_RANK", profile.memory_per_rank)
    if options.statistics:
        env["SPINN_STATISTICS"] = os.path.abspath(options.statistics)
    if options.real_time:
        env["SPINN_REAL_TIME"] = "1"
    if options.output:
        env["SPINN_OUTPUT"] = os.path.abspath(options.output)
    if options.checkpoint_every:
        env["SPINN_CHECKPOINT_EVERY"] = repr(options.checkpoint_every)
        env["SPINN_CHECKPOINT"] = os.path.abspath(options.checkpoint)
    if options.spinnaker_compat:        # spinn_pynn_alias: pyNN.spiNNaker -> spinn.compat
        env["SPINN_SPINNAKER_COMPAT"] = "1"
    if options.quiet:
        env["SPINN_QUIET"] = "1"
    elif sys.stderr.isatty():
        env["SPINN_PROGRESS"] = "1"
    # The ranks report how they ended into a directory of the job's own (see launch.rank).
    with tempfile.TemporaryDirectory(prefix="spinn-job-") as job_dir:
        env[JOB_DIR_VARIABLE] = job_dir
        try:
            return run_job(line, env=env, n_ranks=n_ranks, job_dir=job_dir)
        except OSError as error:
            return _fail(f"cannot start {launcher!r}: {error.strerror}", EXIT_NO_LAUNCHER)


def _syntax_error(script: str) -> str:
    """Python's own report of a syntax error in ``script`` (``File ..., line N`` and a caret),
    or "" when it compiles."""
    try:
        compile(Path(script).read_bytes(), os.path.abspath(script), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        return "".join(traceback.format_exception_only(type(error), error))
    return ""


def _fail(message: str, code: int) -> int:
    print(f"spinn: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spinn`` command; returns the exit code."""
    parser = _parser()
    try:
        options = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a usage error already printed by argparse
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if options.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return options.handler(options)


if __name__ == "__main__":
    raise SystemExit(main())
