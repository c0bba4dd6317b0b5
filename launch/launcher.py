"""Build and run the launch line of a job: ``<launcher> -n N ... <python> -m mpi4py script``.

Ranks always run ``python -m mpi4py script.py``: an uncaught exception on one rank then calls
``MPI_Abort`` and ends the whole job, instead of leaving the other ranks waiting forever in a
collective. Nothing here imports mpi4py; the launcher is any MPI's ``mpiexec``/``mpirun`` or
Slurm's ``srun``, and no implementation-specific flag is added (put those in the profile's
``mpi_args``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping, Sequence

from launch.profiles import Profile

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
    if Path(launcher).name == "srun" and "SLURM_JOB_ID" not in environ:
        # Outside an allocation srun creates one: ask for what the profile says. Inside one
        # (SLURM_JOB_ID set) the resources are already granted and `srun -n N` is enough.
        line += _srun_allocation_flags(profile)
    line += list(profile.mpi_args)
    line += [python, "-m", "mpi4py", os.fspath(script), *args]
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
# KeyboardInterrupt (and mpi4py aborts the job); a rank blocked inside an MPI call never sees
# it, so SIGTERM follows, on which mpiexec and srun kill every rank. SIGKILL is the last resort:
# it stops the launcher but may orphan ranks, which MPI starts in sessions of their own.
_ESCALATION = {
    signal.SIGINT: ((signal.SIGINT, 3.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, None)),
    signal.SIGTERM: ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)),
    signal.SIGHUP: ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)),
}
_POLL_SECONDS = 0.1


def run_job(line: Sequence[str], *, env: Mapping[str, str] | None = None) -> int:
    """Run ``line`` in a process group of its own and return its exit code.

    Output is not captured. SIGINT (Ctrl-C), SIGTERM and SIGHUP received meanwhile are
    forwarded to the job's process group; repeated signals, or a job that does not stop
    within a few seconds, escalate to SIGTERM then SIGKILL. Returns the job's exit code, or
    ``128 + signal`` when the job was interrupted or killed by a signal.
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
        return _wait(process, received)
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
    return returncode if returncode >= 0 else 128 - returncode


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass  # already gone
