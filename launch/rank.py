"""One MPI rank of ``spinn run``: ``python -m launch.rank SCRIPT ARGS...``.

The launcher (``mpiexec``/``srun``) starts this module once per rank. It is the *watcher*: it
starts the real rank, ``python -m launch.rank`` again with ``SPINN_RANK_CHILD=1`` in the
environment, as its child, waits for it, and notices how it ended. The child inherits the
environment and every file descriptor, which is all MPI needs (MPICH's PMI uses ``PMI_FD`` /
``PMI_PORT``, Slurm's PMI-2 ``PMI_FD``): MPI initialises in the child as if the launcher had
started it. A process cannot report its own SIGKILL; its parent can.

With ``SPINN_JOB_DIR`` set (by ``spinn run``, see `launch.launcher.run_job`) ranks report to
that directory, and the launcher decides what the user sees:

``rank<R>.pid``
    ``{"rank", "host", "pid", "child"}``, written by the watcher when the child started, removed
    when it ended well: the processes the launcher signals on Ctrl-C or kills after a failure.
``rank<R>.error``
    ``{"rank", "type", "message", "traceback"}``, written by the child on an uncaught exception
    (before it leaves with ``os._exit(EXIT_ERROR)``, never through ``MPI_Abort`` or
    ``MPI_Finalize``, which could wait for ranks blocked in a collective).
``rank<R>.exit``
    ``{"rank", "host", "returncode", "signal"}``, written by the watcher when the child ended
    otherwise than with exit code 0 (killed by a signal, ``sys.exit(3)``, an error above).
``stopped``
    ``{"t": ms}``, written by rank 0's child when it receives SIGINT: the simulated time reached.

A watcher whose rank failed does not exit but waits (at most `HOLD_SECONDS`) for the launcher to
end the job: a rank process that exits abnormally makes MPICH's ``mpiexec`` print its "BAD
TERMINATION" banner; the launcher instead kills ``mpiexec`` itself, which cannot print anything,
and its proxies then kill the ranks.

Without ``SPINN_JOB_DIR``, or where it does not exist (a batch script, ``mpiexec ... python -m
launch.rank`` by hand, a node that does not share the launcher's ``/tmp``), the child is ``python -m mpi4py SCRIPT`` (an exception calls ``MPI_Abort``), and the watcher only
names a signal that killed its rank on stderr, then dies of the same signal, so that the launcher
sees what it would have seen without the watcher.

This module imports neither mpi4py nor the simulator; the child's script does.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

JOB_DIR_VARIABLE = "SPINN_JOB_DIR"
CHILD_VARIABLE = "SPINN_RANK_CHILD"
#: Exit code of a rank's child after an uncaught exception it reported.
EXIT_ERROR = 1
#: Exit code after Ctrl-C (128 + SIGINT), as a shell reports it.
EXIT_INTERRUPTED = 128 + signal.SIGINT
#: How long a watcher whose rank failed waits for the launcher to end the job.
HOLD_SECONDS = 30.0

# Environment variables that carry this process's rank and the job's size, by launcher.
_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID")
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_NTASKS")

#: What probably sent each signal, said to the user after "rank R was killed by signal N (NAME)".
LIKELY_CAUSES = {
    signal.SIGKILL: "most likely out of memory (the kernel's OOM killer) or killed by the "
                    "scheduler (time or memory limit); see `dmesg` or the scheduler's log, and "
                    "give each rank fewer neurons: more ranks, or nodes with more memory",
    signal.SIGSEGV: "a crash in native code (a compiled kernel, numpy, MPI); rerun with "
                    "`python -X faulthandler` or on fewer ranks to find where",
    signal.SIGBUS: "a crash in native code, or a memory-mapped file that went away",
    signal.SIGFPE: "an arithmetic fault in native code",
    signal.SIGILL: "an illegal instruction in native code (a build for another CPU?)",
    signal.SIGABRT: "an abort in native code (a failed assertion, corrupted memory, or the MPI "
                    "library giving up)",
    signal.SIGTERM: "stopped by the scheduler (time limit, job cancelled) or by a user",
    signal.SIGINT: "interrupted (Ctrl-C)",
    signal.SIGHUP: "its terminal or session went away",
    signal.SIGPIPE: "it wrote to a pipe nobody reads any more",
    signal.SIGXCPU: "it used up its CPU time limit (ulimit -t, or the scheduler's)",
}


#: Signals a launcher sends to end a job's ranks: not named by a watcher in a batch job.
_ENDING_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE}


def signal_name(signum: int) -> str:
    """``"SIGKILL"`` for 9; ``"signal 42"`` for a number without a name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def describe_signal(rank: int | None, signum: int, host: str | None = None) -> str:
    """One line: which rank, which signal, and what probably sent it.

    >>> describe_signal(1, 9).split(":")[0]
    'rank 1 was killed by signal 9 (SIGKILL)'
    """
    who = "a rank" if rank is None else f"rank {rank}"
    where = f" on {host}" if host else ""
    cause = LIKELY_CAUSES.get(signum)
    line = f"{who}{where} was killed by signal {signum} ({signal_name(signum)})"
    return f"{line}: {cause}" if cause else line


def env_rank(environ=os.environ) -> int | None:
    """This process's rank as the launcher set it in the environment, or None."""
    return _env_int(_RANK_VARIABLES, environ)


def env_size(environ=os.environ) -> int | None:
    """The job's number of ranks as the launcher set it in the environment, or None."""
    return _env_int(_SIZE_VARIABLES, environ)


def _env_int(names, environ) -> int | None:
    for name in names:
        value = environ.get(name, "")
        if value.isdigit():
            return int(value)
    return None


def write_json(path: str, data: dict) -> None:
    """Write ``data`` to ``path`` so that a reader never sees half of it."""
    partial = f"{path}.{os.getpid()}.partial"
    with open(partial, "w") as file:
        json.dump(data, file)
    os.replace(partial, path)


# --- the watcher ------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child before exec: receive SIGKILL when the watcher dies (Linux), so that a killed
    watcher never leaves its rank running."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def watch(argv: list[str]) -> int:
    """Run the rank as a child, report how it ended; returns the exit code (or does not return)."""
    job_dir = os.environ.get(JOB_DIR_VARIABLE)
    if job_dir and not os.path.isdir(job_dir):
        job_dir = None  # a node that does not share spinn run's file system: as in a batch job
    rank = env_rank()
    if job_dir:
        command = [sys.executable, "-m", "launch.rank", *argv]
        env = dict(os.environ, **{CHILD_VARIABLE: "1"})
    else:
        command = [sys.executable, "-m", "mpi4py", *argv]
        env = None
    # The launcher signals the rank's whole process group (MPICH's proxy does, and so does
    # spinn run): the child decides what SIGINT means; this process keeps watching. A handler,
    # not SIG_IGN, so the child starts with the default disposition.
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    child = subprocess.Popen(command, env=env, close_fds=False, preexec_fn=_die_with_parent)
    host = socket.gethostname()
    pid_file = None
    if job_dir and rank is not None:
        pid_file = os.path.join(job_dir, f"rank{rank}.pid")
        write_json(pid_file, {"rank": rank, "host": host, "pid": os.getpid(), "child": child.pid})
    returncode = child.wait()
    if returncode == 0:
        if pid_file:
            _remove(pid_file)
        return 0
    signum = -returncode if returncode < 0 else 0
    if not job_dir:
        if signum:
            # SIGTERM and friends are how srun and mpiexec end the other ranks of a failed job:
            # saying so for each of them would bury the rank that failed.
            if signum not in _ENDING_SIGNALS:
                print(f"spinn: {describe_signal(rank, signum, host)}", file=sys.stderr,
                      flush=True)
            _die_of(signum)
        return returncode
    if rank is not None:
        write_json(os.path.join(job_dir, f"rank{rank}.exit"),
                   {"rank": rank, "host": host, "returncode": returncode if not signum else None,
                    "signal": signum or None})
    # Wait for the launcher to end the job (it kills this process); exiting now would make
    # mpiexec print its banner. Leave anyway if it does not come.
    time.sleep(HOLD_SECONDS)
    return 128 + signum if signum else returncode


def _die_of(signum: int) -> None:
    try:
        signal.signal(signum, signal.SIG_DFL)
    except (OSError, ValueError):
        pass  # SIGKILL and SIGSTOP cannot be caught, nor their disposition set
    os.kill(os.getpid(), signum)
    time.sleep(5)  # a blocked or ignored signal: fall through to the exit code


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


# --- the rank (child) -------------------------------------------------------------------------


def run_rank(argv: list[str]) -> int:
    """Run the user's script as ``__main__``, reporting how it ended to the job directory."""
    import runpy

    os.environ.pop(CHILD_VARIABLE, None)  # not inherited by what the script starts
    job_dir = os.environ[JOB_DIR_VARIABLE]
    rank = env_rank() or 0
    script, *args = argv
    sys.argv = [script, *args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))  # as `python script.py` has it
    if rank == 0:
        _watch_for_sigint(job_dir)
    try:
        runpy.run_path(os.path.abspath(script), run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code
        if code is None or code == 0:
            return 0
        if not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        _leave(code)  # no MPI_Finalize: it may wait for ranks that are still busy
    except KeyboardInterrupt as interrupt:
        if rank == 0:
            _write_stopped(job_dir, getattr(interrupt, "spinn_stopped_at", None),
                           getattr(interrupt, "spinn_output", None))
        _leave(EXIT_INTERRUPTED)
    except BaseException as error:  # noqa: B036 - everything the script raised
        write_json(os.path.join(job_dir, f"rank{rank}.error"), error_report(rank, error))
        _leave(EXIT_ERROR)
    return 0


def error_report(rank: int, error: BaseException) -> dict:
    """What a rank says about its uncaught exception: type, message, traceback text."""
    import runpy
    import traceback

    # Leave out the frames of this module and runpy's above the script's, as `python script.py`
    # has none (runpy's file name may be "<frozen runpy>").
    tb = error.__traceback__
    skip = {__file__, runpy.__file__, "<frozen runpy>"}
    while tb is not None and tb.tb_frame.f_code.co_filename in skip:
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(error), error, tb))
    return {"rank": rank, "type": type(error).__qualname__, "message": str(error),
            "traceback": text}


def _leave(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def simulated_time() -> float | None:
    """The simulated time the PyNN backend has reached (ms), also in the middle of a run in the
    main thread; None when the script has no spinn simulation."""
    simulator = sys.modules.get("spinn.pynn.simulator")
    if simulator is None or simulator.state.simulation is None:
        return None
    return simulator.time_reached(simulator.state.simulation, simulator.state.dt)


_stopped_lock = threading.Lock()


def _write_stopped(job_dir: str, t: float | None = None, output: str | None = None) -> None:
    with _stopped_lock:
        path = os.path.join(job_dir, "stopped")
        if os.path.exists(path):
            return
        if t is None:
            try:
                t = simulated_time()
            except Exception:  # a best effort: never fail the stop itself
                t = None
        write_json(path, {"t": t, "output": output})


_MAIN_THREAD_FIRST = 0.2  # seconds


def _watch_for_sigint(job_dir: str) -> None:
    """On SIGINT, write the simulated time reached, from a thread.

    The main thread may be blocked in an MPI collective (the other ranks stopped first) and then
    never runs a Python signal handler; the C-level handler still writes to the wakeup fd, which
    wakes this thread. The main thread raises KeyboardInterrupt as usual when it can.
    """
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    try:
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except ValueError:
        return

    def wait() -> None:
        while True:
            data = reader.recv(64)
            if not data:
                return
            if signal.SIGINT in data:
                # The main thread, if it runs Python, reports first and exactly (its
                # KeyboardInterrupt carries the step reached); if it is blocked in MPI it stays
                # inside run_steps, where this thread reads the step.
                time.sleep(_MAIN_THREAD_FIRST)
                _write_stopped(job_dir)

    threading.Thread(target=wait, name="spinn-sigint", daemon=True).start()
    _watch_for_sigint.sockets = (reader, writer)  # kept open for the process's life


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m launch.rank SCRIPT [ARGS ...] (started by spinn run)",
              file=sys.stderr)
        return 2
    if os.environ.get(CHILD_VARIABLE) and os.environ.get(JOB_DIR_VARIABLE):
        return run_rank(argv)
    return watch(argv)


if __name__ == "__main__":
    raise SystemExit(main())
