"""Build and run the launch line of a job: ``<launcher> -n N ... <python> -m MODULE script``.

Ranks run ``python -m launch.rank script.py`` (see there). In a batch script that is
``python -m mpi4py script.py`` under a watcher naming a signal that kills the rank: an uncaught
exception on one rank calls ``MPI_Abort`` and ends the whole job, instead of leaving the other
ranks waiting forever in a collective. Under ``spinn run`` the ranks report how they ended (an
exception, a signal, Ctrl-C) to a job directory that `run_job` watches: it ends the job and says
once what happened. Nothing here imports mpi4py; the launcher is any MPI's ``mpiexec``/``mpirun``
or Slurm's ``srun``, and no implementation-specific flag is added but srun's
``--kill-on-bad-exit=1`` (put the others in the profile's ``mpi_args``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

from launch.profiles import Profile
from launch.rank import signal_name
from launch.reports import Reports, describe_failure, format_time, read_reports
from launch.reports import exit_code as report_exit_code

__all__ = ["LauncherNotFoundError", "build_launch_line", "find_launcher", "run_job"]


class LauncherNotFoundError(FileNotFoundError):
    """The profile's launcher (``mpiexec``, ``srun``, ...) is not installed where we look."""


def find_launcher(name: str = "mpiexec", *, python: str = sys.executable) -> str:
    """Return the path of the launcher command ``name``.

    A name containing a path separator is used as given. Otherwise the directory of ``python``
    is searched first (the ``mpich`` wheel installs ``mpiexec`` into a virtual environment's
    ``bin/``, which is not on ``PATH`` unless the environment is activated), then ``PATH``.

    Raises
    ------
    LauncherNotFoundError
        With a one-line message saying how to get one.
    """
    if os.sep in name or (os.altsep and os.altsep in name):
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return name
        raise LauncherNotFoundError(f"launcher {name!r} (from the cluster profile) is not an executable file")
    beside_python = Path(python).parent / name
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    on_path = shutil.which(name)
    if on_path:
        return on_path
    if name == "srun":
        hint = "run on a Slurm cluster, or choose a profile whose launcher is mpiexec"
    else:
        hint = "install one with `pip install mpich` or load your cluster's MPI module (e.g. `module load openmpi`)"
    raise LauncherNotFoundError(
        f"launcher {name!r} not found next to {python} or on PATH; {hint}"
    )


def build_launch_line(
    profile: Profile,
    n_ranks: int,
    script: str | os.PathLike,
    args: Sequence[str] = (),
    python: str = sys.executable,
    *,
    launcher: str | None = None,
    environ: Mapping[str, str] | None = None,
    rank_module: str = "mpi4py",
) -> list[str]:
    """The command that starts ``script`` on ``n_ranks`` MPI ranks.

    Parameters
    ----------
    profile
        Supplies the launcher name, its extra ``mpi_args`` and, for ``srun`` outside an
        allocation, the resources to request.
    n_ranks
        Number of MPI ranks (``-n``).
    script, args
        The user script and its arguments, passed through unchanged.
    python
        Interpreter the ranks run.
    launcher
        Resolved launcher path (see `find_launcher`); default: the profile's launcher name.
    environ
        Environment to inspect for ``SLURM_JOB_ID``; default ``os.environ``.
    rank_module
        What each rank runs, ``python -m rank_module script``: ``mpi4py`` (an uncaught
        exception calls ``MPI_Abort``), or ``launch.rank`` (`spinn run`: each rank reports how
        it ended to the launcher, see `launch.rank`).

    Examples
    --------
    >>> from launch.profiles import Profile
    >>> build_launch_line(Profile("workstation", "cluster.yaml"), 2, "net.py", ["--fast"],
    ...                   "/venv/bin/python")
    ['mpiexec', '-n', '2', '/venv/bin/python', '-m', 'mpi4py', 'net.py', '--fast']
    """
    environ = os.environ if environ is None else environ
    launcher = launcher or profile.launcher
    line = [launcher, "-n", str(n_ranks)]
    srun = Path(launcher).name == "srun"
    if srun and not any(arg.startswith(("--kill-on-bad-exit", "-K")) for arg in profile.mpi_args):
        # Without it a rank that dies (killed by the OOM killer, say) leaves the others
        # waiting for it in a collective until the time limit: end the step instead.
        line.append("--kill-on-bad-exit=1")
    if srun and "SLURM_JOB_ID" not in environ:
        # Outside an allocation srun creates one: ask for what the profile says. Inside one
        # (SLURM_JOB_ID set) the resources are already granted and `srun -n N` is enough.
        line += _srun_allocation_flags(profile)
    line += list(profile.mpi_args)
    line += [python, "-m", rank_module, os.fspath(script), *args]
    return line


def _srun_allocation_flags(profile: Profile) -> list[str]:
    flags = []
    if profile.nodes is not None:
        flags.append(f"--nodes={profile.nodes}")
    if profile.partition is not None:
        flags.append(f"--partition={profile.partition}")
    if profile.time is not None:
        flags.append(f"--time={profile.time}")
    if profile.account is not None:
        flags.append(f"--account={profile.account}")
    if profile.memory_per_rank is not None:
        flags.append(f"--mem-per-cpu={profile.memory_per_rank}")  # one CPU per rank
    return flags


# --- running --------------------------------------------------------------------------------

# What to send to the launcher's process group, and how long to wait before the next step,
# depending on the signal spinn received. SIGINT comes first so Python code on the ranks gets
# KeyboardInterrupt; a rank blocked inside an MPI call never sees it, so SIGTERM follows, on
# which mpiexec and srun kill every rank. SIGKILL is the last resort: it stops the launcher
# but may orphan ranks, which MPI starts in sessions of their own.
_ESCALATION = {
    signal.SIGINT: ((signal.SIGINT, 3.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, None)),
    signal.SIGTERM: ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)),
    signal.SIGHUP: ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)),
}
_POLL_SECONDS = 0.05
#: After the first rank failed: how long to wait for the others' reports (an error raised alike
#: everywhere arrives from every rank within this) before the job is ended; shorter while the
#: only failures are ranks killed by a signal (ranks killed together die within milliseconds).
FAILURE_GRACE_SECONDS, SIGNAL_GRACE_SECONDS = 1.5, 0.5
#: After Ctrl-C: how long the ranks have to stop by themselves (rank 0 reports the simulated
#: time at once), and how long to let the others finish once rank 0 has reported.
STOP_SECONDS, AFTER_STOPPED_SECONDS = 3.0, 0.3


def run_job(
    line: Sequence[str], *, env: Mapping[str, str] | None = None, n_ranks: int | None = None,
    job_dir: str | None = None,
) -> int:
    """Run ``line`` in a process group of its own and return its exit code.

    Output is not captured. SIGINT (Ctrl-C), SIGTERM and SIGHUP received meanwhile are
    forwarded to the job; repeated signals, or a job that does not stop within a few seconds,
    escalate to SIGTERM then SIGKILL. Returns the job's exit code, or ``128 + signal`` when the
    job was interrupted or killed by a signal.

    With ``job_dir`` (the ranks run `launch.rank`, which reports into it; see there) the job is
    watched: when a rank fails (killed by a signal, an uncaught exception, a non-zero exit) the
    other ranks' reports are awaited for `FAILURE_GRACE_SECONDS`, the job is ended (all of it,
    also ranks blocked in a collective), and what happened is printed once (see
    `launch.reports.describe_failure`). Ctrl-C stops the ranks and prints the simulated time
    reached: ``spinn: stopped at t = ... ms``.
    """
    # A session of its own: Ctrl-C at the terminal reaches only spinn, which decides what the
    # job gets, and the launcher never stops on terminal reads (SIGTTIN) as a background group.
    process = subprocess.Popen(list(line), env=None if env is None else dict(env), start_new_session=True)
    received: list[int] = []

    def remember(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {}
    for signum in _ESCALATION:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # respect nohup and friends
            previous[signum] = signal.signal(signum, remember)
    try:
        if job_dir is None:
            return _wait(process, received)
        return _Watch(process, received, job_dir, n_ranks, Path(line[0]).name).run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _wait(process: subprocess.Popen, received: list[int]) -> int:
    steps: tuple = ()
    first_signal = 0
    deadline = None
    while True:
        try:
            returncode = process.wait(timeout=_POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            pass
        if received and not first_signal:
            first_signal = received.pop(0)
            steps = _ESCALATION[first_signal]
        elif received or (deadline is not None and time.monotonic() > deadline):
            received.clear()
            steps = steps[1:] or steps
        else:
            continue
        send, grace = steps[0]
        _signal_group(process, send)
        deadline = None if grace is None else time.monotonic() + grace
    if first_signal:
        return 128 + first_signal
    return _exit_code(returncode)


def _exit_code(returncode: int) -> int:
    return returncode if returncode >= 0 else 128 - returncode


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass  # already gone


class _Watch:
    """`run_job` with a job directory: the launcher and the ranks' reports, polled together."""

    def __init__(self, process, received, job_dir, n_ranks, launcher_name):
        self.process = process
        self.received = received
        self.job_dir = job_dir
        self.n_ranks = n_ranks
        self.srun = launcher_name == "srun"
        self.host = socket.gethostname()

    def run(self) -> int:
        process = self.process
        failed_at = stop_at = None
        while True:
            try:
                returncode = process.wait(timeout=_POLL_SECONDS)
            except subprocess.TimeoutExpired:
                returncode = None
            reports = read_reports(self.job_dir)
            if returncode is not None:  # the launcher ended by itself
                if stop_at is not None:
                    return self._stopped(reports)
                if reports.failed:
                    return self._failed(reports)
                return _exit_code(returncode)
            now = time.monotonic()
            if self.received:
                signum = self.received.pop(0)
                if stop_at is not None:  # Ctrl-C twice, or SIGTERM after it
                    self._end(reports)
                    return self._stopped(reports)
                if signum != signal.SIGINT:  # the scheduler or a user: SIGTERM, SIGHUP
                    self._end(reports)
                    print(f"spinn: stopped by {signal_name(signum)}", file=sys.stderr, flush=True)
                    return 128 + signum
                stop_at = now
                self._interrupt(reports)
            if stop_at is not None:
                everyone = self.n_ranks is not None and len(reports.exits) >= self.n_ranks
                if (everyone or now > stop_at + STOP_SECONDS
                        or (reports.stopped is not None and now > stop_at + AFTER_STOPPED_SECONDS)):
                    self._end(reports)
                    return self._stopped(read_reports(self.job_dir))
            elif reports.failed:
                failed_at = failed_at or now
                everyone = self.n_ranks is not None and len(reports.exits) >= self.n_ranks
                signals_only = not reports.errors and all(
                    exit_.get("signal") for exit_ in reports.exits.values())
                grace = SIGNAL_GRACE_SECONDS if signals_only else FAILURE_GRACE_SECONDS
                if everyone or now > failed_at + grace:
                    self._end(reports)
                    return self._failed(reports)

    def _local_pids(self, reports: Reports, key: str) -> list[int] | None:
        """The ranks' processes (``key``: "pid" watcher, "child" rank), or None when some are
        elsewhere or not known yet."""
        if self.n_ranks is None or len(reports.pids) < self.n_ranks:
            return None
        if any(entry.get("host") != self.host for entry in reports.pids.values()):
            return None
        return [int(entry[key]) for entry in reports.pids.values() if key in entry]

    def _interrupt(self, reports: Reports) -> None:
        """Ctrl-C: SIGINT to every rank, directly when they are all on this machine (mpiexec
        would print its own lines about forwarding it), else through the launcher."""
        children = self._local_pids(reports, "child")
        if children is None:
            _signal_group(self.process, signal.SIGINT)
            return
        for pid in children:
            _kill(pid, signal.SIGINT)

    def _end(self, reports: Reports) -> None:
        """End the whole job now, ranks blocked in a collective included.

        ``mpiexec`` gets SIGKILL first, so it cannot print its banner about the ranks it sees
        die; its proxies then kill the ranks (their process groups) on every node, and the ranks
        on this machine are also killed here, watchers first (their children follow them:
        `launch.rank` sets the parent-death signal). ``srun`` gets SIGTERM, on which it ends the
        step on every node.
        """
        if self.srun:
            _signal_group(self.process, signal.SIGTERM)
        else:
            _signal_group(self.process, signal.SIGKILL)
        for key in ("pid", "child"):
            for entry in read_reports(self.job_dir).pids.values():
                if entry.get("host") == self.host and key in entry:
                    _kill(int(entry[key]), signal.SIGKILL)
        try:
            self.process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL)
            self.process.wait()

    def _failed(self, reports: Reports) -> int:
        text = describe_failure(reports, self.n_ranks)
        if text:
            print(text, file=sys.stderr, flush=True)
        return report_exit_code(reports)

    def _stopped(self, reports: Reports) -> int:
        t = (reports.stopped or {}).get("t")
        where = "" if t is None else f" at t = {format_time(t)} ms"
        output = (reports.stopped or {}).get("output")
        data = f"; what was recorded is in {output}" if output else ""
        print(f"spinn: stopped{where}{data}", file=sys.stderr, flush=True)
        return 128 + signal.SIGINT


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
