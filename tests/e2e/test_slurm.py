"""`spinn submit`, `spinn status` and `spinn cancel` against a real one-node Slurm.

The `slurm` fixture starts MUNGE and Slurm (Debian's `munge` and `slurm-wlm` packages, which
`.ci/run` installs) on this machine, as root, with everything in a temporary directory: its own
munge key and socket, a generated `slurm.conf` describing this node as `slurmd -C` sees it,
free ports, `proctrack/linuxproc` and `task/none` (no cgroups needed). The daemons run in the
foreground as children of pytest and are stopped by pid at the end of the session. Without
the packages, or not as root, the tests are skipped; under `CI=true` that is a failure.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.processes import alive

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).parent / "scripts"
PARTITION = "spinntest"
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "scontrol", "sinfo")
JOB_TIMEOUT = 120  # seconds


def _find(name):
    """A command on PATH or in the sbin directories (not on a non-root PATH)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
    return shutil.which(name, path=path)


def _unavailable(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}: .ci/run installs slurm-wlm and munge")
    pytest.skip(reason)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LocalSlurm:
    """A running one-node cluster: its config, an environment for clients, its daemons."""

    directory: Path
    partition: str = PARTITION
    processes: dict = field(default_factory=dict)

    @property
    def env(self):
        """The environment of a user of this cluster (``SLURM_CONF`` set; no ``SPINN_CLUSTER``)."""
        env = dict(os.environ, SLURM_CONF=str(self.directory / "slurm.conf"))
        env.pop("SPINN_CLUSTER", None)
        return env

    def client(self, *args, timeout=30):
        return subprocess.run([_find(args[0]), *args[1:]], env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def start(self, name, *args):
        log = open(self.directory / f"{name}.log", "w")
        with log:
            self.processes[name] = subprocess.Popen(
                [_find(name), *args], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    def logs(self):
        return "\n".join(f"--- {log.name}\n" + log.read_text()[-2000:]
                         for log in sorted(self.directory.glob("*.log")))

    def wait_for(self, what, condition, timeout=30):
        deadline = time.monotonic() + timeout
        while not condition():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    pytest.fail(f"{name} exited with status {process.returncode} while waiting "
                                f"for {what}\n{self.logs()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {timeout} s\n{self.logs()}")
            time.sleep(0.2)

    def stop(self):
        """Cancel what is left of our jobs, then stop the daemons, newest first, by pid."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            self.client("scancel", "--full", f"--partition={self.partition}")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                active = self.client("squeue", "--noheader", "--format=%i")
                if active.returncode != 0 or not active.stdout.strip():
                    break
                time.sleep(0.2)
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait()


def _write_config(directory):
    # The node as slurmd itself sees it (CPUs, sockets, cores, threads, RealMemory), so the
    # controller never drains it for having less than the configuration says.
    probe = subprocess.run([_find("slurmd"), "-C"], capture_output=True, text=True, timeout=30)
    node = next((line for line in probe.stdout.splitlines() if line.startswith("NodeName=")), None)
    if probe.returncode != 0 or node is None:
        pytest.fail(f"slurmd -C failed: {probe.stdout}{probe.stderr}")
    host = node.split()[0].removeprefix("NodeName=")
    settings = {
        "ClusterName": "spinntest",
        "SlurmctldHost": f"{host}(127.0.0.1)",
        "SlurmctldPort": _free_port(),
        "SlurmdPort": _free_port(),
        "SlurmUser": "root",
        "SlurmdUser": "root",
        "AuthType": "auth/munge",
        "CredType": "cred/munge",
        "AuthInfo": f"socket={directory / 'munge.socket'}",
        "StateSaveLocation": directory / "state",
        "SlurmdSpoolDir": directory / "spool",
        "SlurmctldPidFile": directory / "slurmctld.pid",
        "SlurmdPidFile": directory / "slurmd.pid",
        "ProctrackType": "proctrack/linuxproc",
        "TaskPlugin": "task/none",
        "MpiDefault": "none",
        "SchedulerType": "sched/builtin",
        "SelectType": "select/cons_tres",
        "SelectTypeParameters": "CR_Core",
        "ReturnToService": 2,
        "MinJobAge": 300,
        "JobCompType": "jobcomp/none",
        # job ids unique across test sessions: MPICH names a step's shared memory
        # after it, and a rank killed in an earlier session leaves its segment in
        # /dev/shm, which a later job with the same id would attach to
        "FirstJobId": int.from_bytes(os.urandom(3), "little") * 3 + 1000,   # < MaxJobId
        "AccountingStorageType": "accounting_storage/none",
        "JobAcctGatherType": "jobacct_gather/none",
    }
    lines = [f"{key}={value}" for key, value in settings.items()]
    lines.append(f"{node} NodeAddr=127.0.0.1 State=UNKNOWN")
    lines.append(f"PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP")
    (directory / "state").mkdir()
    (directory / "spool").mkdir()
    (directory / "slurm.conf").write_text("\n".join(lines) + "\n")


def _write_munge_key(path):
    mungekey = _find("mungekey")
    if mungekey:
        subprocess.run([mungekey, "--create", f"--keyfile={path}"], check=True, timeout=30,
                       capture_output=True)
    else:
        path.write_bytes(os.urandom(1024))
    path.chmod(0o600)


@pytest.fixture(scope="session")
def slurm():
    missing = [name for name in DAEMONS + CLIENTS + ("munge",) if not _find(name)]
    if missing:
        _unavailable(f"Slurm/MUNGE not installed (missing: {', '.join(missing)})")
    if os.geteuid() != 0:
        _unavailable("starting slurmd and munged needs root")
    # Not pytest's tmp_path: munged wants every directory above its socket searchable by all.
    cluster = LocalSlurm(Path(tempfile.mkdtemp(prefix="spinn-slurm-")))
    try:
        cluster.directory.chmod(0o755)
        _write_munge_key(cluster.directory / "munge.key")
        _write_config(cluster.directory)
        socket_path = cluster.directory / "munge.socket"
        cluster.start("munged", "--foreground", f"--socket={socket_path}",
                      f"--key-file={cluster.directory / 'munge.key'}",
                      f"--pid-file={cluster.directory / 'munged.pid'}",
                      f"--seed-file={cluster.directory / 'munged.seed'}")
        cluster.wait_for("munge socket", socket_path.exists)
        conf = str(cluster.directory / "slurm.conf")
        cluster.start("slurmctld", "-D", "-f", conf)
        cluster.start("slurmd", "-D", "-f", conf)

        def node_idle():
            info = cluster.client("sinfo", "--noheader", "--format=%t")
            return info.returncode == 0 and info.stdout.strip() == "idle"

        cluster.wait_for("idle node in sinfo", node_idle)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.directory, ignore_errors=True)


def spinn(cluster, cwd, *args, timeout=60):
    """`spinn ARGS` as a user on the cluster types it; returns (exit code, stdout, stderr)."""
    result = subprocess.run([sys.executable, "-m", "launch.cli", *args], cwd=cwd, env=cluster.env,
                            capture_output=True, text=True, timeout=timeout)
    return result.returncode, result.stdout, result.stderr


def write_profiles(cluster, directory):
    """Profiles for the local node: mpiexec inside the allocation, and srun with PMI-2."""
    common = (f"    scheduler: slurm\n    partition: {cluster.partition}\n    nodes: 1\n"
              "    ranks_per_node: 2\n    memory_per_rank: \"500M\"\n    time: \"5\"\n")
    text = ("profiles:\n"
            f"  local:\n{common}    launcher: mpiexec\n"
            f"  local-srun:\n{common}    launcher: srun\n    mpi_args: [\"--mpi=pmi2\"]\n")
    path = directory / "cluster.yaml"
    path.write_text(text)
    return path


def submit(cluster, cwd, profile, *command):
    code, out, err = spinn(cluster, cwd, "submit", "--profile", profile, *command)
    assert code == 0, err
    job_id = out.strip()
    assert re.fullmatch(r"[0-9]+", job_id), out
    assert f"submitted job {job_id}" in err
    return job_id


def state_of(cluster, cwd, job_id):
    code, out, err = spinn(cluster, cwd, "status", job_id)
    assert code == 0, err
    match = re.match(rf"job {job_id} \(\S+\): ([A-Z_]+)", out)
    assert match, out
    return match.group(1), out


def wait_until_finished(cluster, cwd, job_id, timeout=JOB_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        state, line = state_of(cluster, cwd, job_id)
        if state not in ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING"):
            return state, line
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still {state} after {timeout} s\n{cluster.logs()}")
        time.sleep(0.5)


def job_directory(cwd, name):
    (directory,) = (cwd / "spinn-jobs").glob(f"{name}-*")
    return directory


def test_submit_runs_an_example_on_two_ranks(slurm, tmp_path):
    write_profiles(slurm, tmp_path)
    job_id = submit(slurm, tmp_path, "local", "--name", "poisson",
                    str(ROOT / "examples" / "poisson_input.py"), "--tstop", "100",
                    "--spikes", "out.npz")
    directory = job_directory(tmp_path, "poisson")
    assert (directory / "job.id").read_text() == job_id + "\n"
    # --dry-run shows what is submitted (but for the time in the directory name)
    code, dry_run, err = spinn(slurm, tmp_path, "submit", "--dry-run", "--profile", "local",
                               "--name", "poisson", str(ROOT / "examples" / "poisson_input.py"),
                               "--tstop", "100", "--spikes", "out.npz")
    assert code == 0, err
    stamp = re.compile(r"poisson-[0-9]{8}-[0-9]{6}/")
    assert stamp.sub("", dry_run) == stamp.sub("", (directory / "job.sh").read_text())
    assert "#SBATCH --ntasks-per-node=2\n" in dry_run

    state, line = wait_until_finished(slurm, tmp_path, job_id)
    out = (directory / "job.out").read_text()
    err = (directory / "job.err").read_text()
    assert (state, "exit code 0") == ("COMPLETED", line.split(", ")[1]), f"{line}\n{out}\n{err}"
    assert "poisson_input: 100 outputs fired" in out
    assert out.count("real-time factor") == 1 and "on 2 rank(s)" in out  # rank 0's summary
    spikes = np.load(tmp_path / "out.npz")  # relative to where spinn submit ran
    assert spikes["times"].size > 0
    assert spikes["index"].shape == spikes["times"].shape


def test_srun_with_pmi2_starts_one_job_of_two_ranks(slurm, tmp_path):
    # Without --mpi=pmi2, Debian's srun starts two singletons, each "rank 0 of 1".
    write_profiles(slurm, tmp_path)
    job_id = submit(slurm, tmp_path, "local-srun", str(SCRIPTS / "mpi_hello.py"))
    state, line = wait_until_finished(slurm, tmp_path, job_id)
    out = (job_directory(tmp_path, "mpi_hello") / "job.out").read_text()
    err = (job_directory(tmp_path, "mpi_hello") / "job.err").read_text()
    assert state == "COMPLETED", f"{line}\n{out}\n{err}"
    assert sorted(out.splitlines()) == ["hello from rank 0 of 2", "hello from rank 1 of 2"]



@pytest.mark.parametrize("profile", ["local", "local-srun"])
def test_a_rank_killed_by_a_signal_is_named_in_the_job_s_stderr(slurm, tmp_path, profile):
    write_profiles(slurm, tmp_path)
    script = tmp_path / "die.py"
    script.write_text("import os, signal\nfrom mpi4py import MPI\ncomm = MPI.COMM_WORLD\n"
                      "comm.barrier()\nif comm.Get_rank() == 1:\n"
                      "    os.kill(os.getpid(), signal.SIGKILL)\ncomm.barrier()\n"
                      "print('rank', comm.Get_rank(), 'passed the barrier')\n")
    job_id = submit(slurm, tmp_path, profile, str(script))
    state, line = wait_until_finished(slurm, tmp_path, job_id)
    directory = job_directory(tmp_path, "die")
    out = (directory / "job.out").read_text()
    err = (directory / "job.err").read_text()
    assert state != "COMPLETED", f"{line}\n{out}\n{err}"
    assert "passed the barrier" not in out
    assert re.search(r"spinn: rank 1 on \S+ was killed by signal 9 \(SIGKILL\): most likely "
                     r"out of memory", err), f"{out}\n{err}"


def test_cancel_stops_a_running_job_and_its_ranks(slurm, tmp_path):
    write_profiles(slurm, tmp_path)
    pids = tmp_path / "pids"
    pids.mkdir()
    # Both ranks wait forever inside MPI_Recv.
    job_id = submit(slurm, tmp_path, "local", "--name", "sleeper",
                    str(SCRIPTS / "mpi_wait.py"), str(pids))
    deadline = time.monotonic() + JOB_TIMEOUT
    while len(list(pids.glob("*.pid"))) < 2:
        assert time.monotonic() < deadline, f"ranks did not start\n{slurm.logs()}"
        time.sleep(0.2)
    time.sleep(0.2)  # the pid files may still be being written
    rank_pids = [int(path.read_text()) for path in pids.glob("*.pid")]
    assert state_of(slurm, tmp_path, job_id)[0] == "RUNNING"

    code, out, err = spinn(slurm, tmp_path, "cancel", job_id)
    assert (code, out, err) == (0, f"job {job_id}: cancelled (was RUNNING)\n", "")
    state, line = wait_until_finished(slurm, tmp_path, job_id, timeout=30)
    assert state == "CANCELLED", line
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in rank_pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in rank_pids if alive(pid)], "ranks survived the cancel"

    # A second cancel has nothing left to do: a failure that says so.
    code, out, err = spinn(slurm, tmp_path, "cancel", job_id)
    assert code == 1 and out == ""
    assert err == f"spinn: cancel: job {job_id} already ended (CANCELLED); nothing to cancel\n"


@pytest.mark.parametrize("command", ["status", "cancel"])
def test_unknown_job_is_one_clear_line(slurm, tmp_path, command):
    code, out, err = spinn(slurm, tmp_path, command, "987654")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "job 987654 is not known to Slurm" in err


def test_a_rejected_submission_keeps_the_script_and_says_why(slurm, tmp_path):
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("profiles:\n  nowhere:\n    scheduler: slurm\n    partition: no-such\n"
                       "    ranks_per_node: 1\n")
    script = tmp_path / "net.py"
    script.write_text("print('hi')\n")
    code, out, err = spinn(slurm, tmp_path, "submit", "--profile", "nowhere", str(script))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "sbatch refused the job" in err
    assert "partition" in err.lower()
    (job_sh,) = (tmp_path / "spinn-jobs").glob("net-*/job.sh")
    assert str(job_sh) in err
