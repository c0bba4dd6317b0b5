"""`spinn run` when ranks fail: real 2-rank jobs under mpiexec.

A rank killed by a signal is named with its signal and likely cause, an error raised alike on
every rank is printed once, different errors under their ranks, a syntax error before any rank
starts, Ctrl-C as one line with the simulated time reached; the job always ends within seconds,
with no MPICH banner.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.e2e.processes import alive

BANNER = "BAD TERMINATION"
TIMEOUT = 60


def _env():
    env = dict(os.environ)
    env.pop("SPINN_CLUSTER", None)
    return env


def write(directory, name, text):
    path = Path(directory) / name
    path.write_text(textwrap.dedent(text))
    return path


def spinn_run(cwd, *args, timeout=TIMEOUT):
    """`spinn run ARGS`; returns (exit code, stdout, stderr, seconds)."""
    start = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "launch.cli", "run", *args], cwd=cwd,
                               env=_env(), text=True, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"spinn run {args} still running after {timeout} s\n{out}\n{err}")
    return process.returncode, out, err, time.monotonic() - start


def _no_rank_left(directory):
    """Every pid the script wrote to ``directory`` is gone within a few seconds."""
    pids = [int(path.read_text()) for path in Path(directory).glob("*.pid")]
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not [pid for pid in pids if alive(pid)]


KILLS_ITSELF = """\
    import os, signal, sys, time
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    open(f"rank{rank}.pid", "w").write(str(os.getpid()))
    comm.barrier()
    if rank == 1:
        open("died_at", "w").write(repr(time.time()))
        os.kill(os.getpid(), signal.{signal})
    comm.barrier()  # rank 0 waits here for ever
    print("rank 0 passed the barrier", flush=True)
"""


@pytest.mark.parametrize("signum,cause", [(signal.SIGKILL, "out of memory"),
                                          (signal.SIGSEGV, "native code")])
def test_a_rank_killed_by_a_signal_is_named_and_the_job_ends(tmp_path, signum, cause):
    script = write(tmp_path, "die.py", KILLS_ITSELF.replace("{signal}", signum.name))
    code, out, err, _ = spinn_run(tmp_path, "-n", "2", str(script))
    ended = time.time()
    seconds = ended - float((tmp_path / "died_at").read_text())
    assert code == 128 + signum, err
    assert f"rank 1 was killed by signal {int(signum)} ({signum.name})" in err
    assert cause in err
    assert err.count("\n") == 1, err  # one line
    assert BANNER not in out + err and "passed the barrier" not in out
    assert seconds < 15, f"the job ended {seconds:.1f} s after rank 1 died"
    assert _no_rank_left(tmp_path), "a rank survived"
    print(f"{signum.name}: job ended {seconds:.2f} s after rank 1 died")


def test_one_error_on_every_rank_is_printed_once(tmp_path):
    script = write(tmp_path, "zero.py", """\
        from mpi4py import MPI
        MPI.COMM_WORLD.barrier()
        def ratio(a, b):
            return a / b
        ratio(1, 0)
    """)
    code, out, err, seconds = spinn_run(tmp_path, "-n", "2", str(script))
    assert code == 1, err
    assert err.startswith("spinn: error on all 2 ranks:\nTraceback (most recent call last):\n")
    assert err.count("Traceback") == 1 and err.count("ZeroDivisionError: division by zero") == 1
    assert f'File "{script}", line 5, in <module>' in err
    assert "runpy" not in err and "launch" not in err  # the script's frames only
    assert BANNER not in out + err
    assert seconds < 30


def test_a_spinn_error_on_every_rank_is_printed_once(tmp_path):
    script = write(tmp_path, "bad.py", """\
        import spinn as sim
        sim.setup(timestep=-0.1)
    """)
    code, out, err, _ = spinn_run(tmp_path, "-n", "2", str(script))
    assert code == 1, err
    assert err.count("Traceback") == 1 and "on all 2 ranks" in err
    assert "ValueError: timestep must be a finite number > 0" in err
    assert BANNER not in out + err


def test_different_errors_are_printed_under_their_ranks(tmp_path):
    script = write(tmp_path, "differ.py", """\
        from mpi4py import MPI
        rank = MPI.COMM_WORLD.Get_rank()
        if rank == 0:
            raise ValueError("bad value on rank 0")
        raise KeyError("missing key on rank 1")
    """)
    code, out, err, _ = spinn_run(tmp_path, "-n", "2", str(script))
    assert code == 1, err
    first, second = err.split("spinn: error on rank 1 (of 2):\n")
    assert first.startswith("spinn: error on rank 0 (of 2):\n")
    assert "ValueError: bad value on rank 0" in first and "KeyError" not in first
    assert "KeyError: 'missing key on rank 1'" in second and "ValueError" not in second
    assert BANNER not in out + err


def test_an_error_on_one_rank_ends_a_job_blocked_in_a_collective(tmp_path):
    script = write(tmp_path, "one.py", """\
        import os
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        open(f"rank{comm.Get_rank()}.pid", "w").write(str(os.getpid()))
        if comm.Get_rank() == 1:
            raise RuntimeError("boom on rank 1")
        comm.barrier()
    """)
    code, out, err, seconds = spinn_run(tmp_path, "-n", "2", str(script))
    assert code == 1, err
    assert err.startswith("spinn: error on rank 1 (of 2):\n") and err.count("Traceback") == 1
    assert "RuntimeError: boom on rank 1" in err
    assert BANNER not in out + err
    assert _no_rank_left(tmp_path)
    assert seconds < 30


def test_a_non_zero_exit_is_the_job_s(tmp_path):
    script = write(tmp_path, "quit.py", """\
        import sys
        from mpi4py import MPI
        if MPI.COMM_WORLD.Get_rank() == 1:
            sys.exit(3)
        MPI.COMM_WORLD.barrier()
    """)
    code, out, err, _ = spinn_run(tmp_path, "-n", "2", str(script))
    assert code == 3
    assert err == "spinn: rank 1 (of 2) exited with code 3\n"


def test_a_syntax_error_is_reported_once_before_any_rank_starts(tmp_path):
    started = tmp_path / "launcher-started"
    launcher = write(tmp_path, "fake-mpiexec", f"#!/bin/sh\ntouch {started}\n")
    launcher.chmod(0o755)
    write(tmp_path, "cluster.yaml", f"profiles:\n  fake:\n    launcher: {launcher}\n")
    script = write(tmp_path, "typo.py", "x = 1\ndef f(:\n    pass\n")
    code, out, err, _ = spinn_run(tmp_path, "--profile", "fake", "-n", "2", str(script))
    assert (code, out) == (1, "")
    assert err == f'  File "{script}", line 2\n    def f(:\n          ^\nSyntaxError: invalid syntax\n'
    assert not started.exists()


LONG_RUN = """\
    import spinn as sim
    sim.setup(timestep=0.1)
    cells = sim.Population(50, sim.IF_curr_exp(), label="cells")
    noise = sim.Population(50, sim.SpikeSourcePoisson(rate=50.0), label="noise")
    sim.Projection(noise, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0))
    sim.run(10.0)
    if sim.rank() == 0:
        open("running", "w").write("")
    sim.run(1e7)
    print("the run was not interrupted")
"""


def _interrupt(command, cwd, marker):
    """Start ``command`` as at a terminal, Ctrl-C once ``marker`` exists; returns
    (exit code, stdout, stderr, seconds from Ctrl-C to the end)."""
    process = subprocess.Popen(
        command, cwd=cwd, env=_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.1)
        time.sleep(0.5)
        start = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C at a terminal does
        out, err = process.communicate(timeout=30)
        return process.returncode, out, err, time.monotonic() - start
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _stopped_at(err):
    """The one line: ``spinn: stopped at t = T ms; what was recorded is in DIR``."""
    assert err.startswith("spinn: stopped at t = ") and err.endswith("\n"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    time_part, _, data = err.removeprefix("spinn: stopped at t = ").partition(" ms")
    assert data in ("\n", "") or data.startswith("; what was recorded is in "), err
    if data.startswith("; what was recorded is in "):
        assert os.path.isdir(data.removeprefix("; what was recorded is in ").strip()), err
    return float(time_part)


def test_ctrl_c_says_where_the_simulation_stopped(tmp_path):
    script = write(tmp_path, "long.py", LONG_RUN)
    code, out, err, seconds = _interrupt(
        [sys.executable, "-m", "launch.cli", "run", "-n", "2", str(script)], tmp_path,
        tmp_path / "running")
    assert code == 130
    assert 10.0 < _stopped_at(err) < 1e7
    assert "not interrupted" not in out and BANNER not in out
    assert seconds < 10


def test_ctrl_c_under_plain_python_is_the_same_line(tmp_path):
    script = write(tmp_path, "long.py", LONG_RUN)
    code, out, err, _ = _interrupt([sys.executable, str(script)], tmp_path, tmp_path / "running")
    assert code == -signal.SIGINT  # Python's exit on an uncaught KeyboardInterrupt: 130
    assert 10.0 < _stopped_at(err) < 1e7


def test_sigterm_ends_the_job_at_once(tmp_path):
    script = write(tmp_path, "wait.py", """\
        import os
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        open(f"rank{comm.Get_rank()}.pid", "w").write(str(os.getpid()))
        comm.recv(source=MPI.ANY_SOURCE, tag=99)  # never sent
    """)
    process = subprocess.Popen([sys.executable, "-m", "launch.cli", "run", "-n", "2", str(script)],
                               cwd=tmp_path, env=_env(), text=True, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(list(tmp_path.glob("rank*.pid"))) < 2:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.3)
        start = time.monotonic()
        process.send_signal(signal.SIGTERM)  # as a scheduler stopping the job
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 128 + signal.SIGTERM
    assert err == "spinn: stopped by SIGTERM\n" and BANNER not in out
    assert time.monotonic() - start < 5
    assert _no_rank_left(tmp_path)
