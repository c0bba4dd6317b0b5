"""The `spinn` command: launch lines, cluster profiles, and real jobs under mpiexec."""
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from launch.cli import main
from launch.launcher import build_launch_line, find_launcher
from launch.profiles import Profile, ProfileError, load_profile, physical_cores
from tests.e2e.processes import alive

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).parent / "scripts"
PACKAGED = ROOT / "launch" / "cluster.yaml"
PYTHON = "/venv/bin/python"


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Run in an empty directory with no $SPINN_CLUSTER: the packaged profiles apply."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPINN_CLUSTER", raising=False)
    return tmp_path


@pytest.fixture
def script(isolated):
    path = isolated / "net.py"
    path.write_text("print('hi')\n")
    return path


def write_cluster(directory, text, name="cluster.yaml"):
    path = directory / name
    path.write_text(text)
    return path


# --- launch lines ---------------------------------------------------------------------------


def test_workstation_launch_line():
    profile = load_profile("workstation", PACKAGED)
    line = build_launch_line(profile, 4, "net.py", ["--tstop", "100"], PYTHON)
    assert line == ["mpiexec", "-n", "4", PYTHON, "-m", "mpi4py", "net.py", "--tstop", "100"]


def test_mpi_args_come_after_the_rank_count(tmp_path):
    cluster = write_cluster(tmp_path, "profiles:\n  bound:\n    mpi_args: [--bind-to, core]\n")
    line = build_launch_line(load_profile("bound", cluster), 2, "net.py", [], PYTHON,
                             launcher="/opt/mpi/bin/mpiexec")
    assert line == ["/opt/mpi/bin/mpiexec", "-n", "2", "--bind-to", "core",
                    PYTHON, "-m", "mpi4py", "net.py"]


def test_srun_inside_an_allocation_is_plain():
    profile = load_profile("example-slurm", PACKAGED)
    line = build_launch_line(profile, 64, "net.py", ["-x"], PYTHON,
                             environ={"SLURM_JOB_ID": "1234"})
    assert line == ["srun", "-n", "64", "--kill-on-bad-exit=1", PYTHON, "-m", "mpi4py", "net.py",
                    "-x"]


def test_srun_outside_an_allocation_asks_for_the_profile_resources():
    profile = load_profile("example-slurm", PACKAGED)
    line = build_launch_line(profile, 64, "net.py", [], PYTHON, environ={})
    assert line == ["srun", "-n", "64", "--kill-on-bad-exit=1", "--nodes=2", "--partition=compute",
                    "--time=01:00:00", "--mem-per-cpu=4G", PYTHON, "-m", "mpi4py", "net.py"]


def test_default_ranks():
    assert load_profile("workstation", PACKAGED).default_ranks() == physical_cores()
    assert 1 <= physical_cores() <= (os.cpu_count() or 1)
    assert load_profile("example-slurm", PACKAGED).default_ranks() == 2 * 32


def test_print_shows_the_line_and_runs_nothing(script, capsys):
    assert main(["run", "-n", "3", "--print", str(script), "--tstop", "10 0"]) == 0
    out, err = capsys.readouterr()
    expected = build_launch_line(load_profile("workstation"), 3, str(script), ["--tstop", "10 0"],
                                 sys.executable, launcher=find_launcher("mpiexec"),
                                 rank_module="launch.rank")
    assert shlex.split(out) == expected
    assert expected[3:6] == [sys.executable, "-m", "launch.rank"]  # ranks report to spinn run
    assert out.count("\n") == 1 and err == ""


def test_options_after_the_script_belong_to_the_script(script, capsys):
    assert main(["run", "--print", "-n", "2", "--", str(script), "-n", "5", "--print"]) == 0
    line = shlex.split(capsys.readouterr().out)
    assert line[1:3] == ["-n", "2"]
    assert line[-4:] == [str(script), "-n", "5", "--print"]


def test_missing_launcher_is_one_clear_line(script, capsys):
    cluster = write_cluster(script.parent, "profiles:\n  odd:\n    launcher: no-such-mpiexec\n",
                            name="odd.yaml")
    assert main(["run", "--cluster", str(cluster), "--profile", "odd", str(script)]) == 127
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "no-such-mpiexec" in err and "pip install mpich" in err
    # a dry run may describe another machine: it prints the bare name
    assert main(["run", "--cluster", str(cluster), "--profile", "odd", "--print",
                 str(script)]) == 0
    assert capsys.readouterr().out.startswith("no-such-mpiexec -n ")


def test_missing_script_is_a_usage_error(isolated, capsys):
    assert main(["run", "--print", "nowhere.py"]) == 2
    assert "nowhere.py" in capsys.readouterr().err


def test_submit_is_no_longer_a_stub(isolated, capsys):
    assert main(["submit"]) == 2
    assert "missing SCRIPT" in capsys.readouterr().err


def test_the_command_never_imports_mpi4py():
    check = "import sys, launch.cli; print('mpi4py' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "False", result.stderr


# --- cluster profiles -----------------------------------------------------------------------


def test_repo_and_packaged_cluster_files_agree():
    assert (ROOT / "cluster.yaml").read_text() == PACKAGED.read_text()


def test_packaged_profiles_are_valid():
    assert load_profile("workstation", PACKAGED) == Profile(
        "workstation", str(PACKAGED), scheduler="none", launcher="mpiexec", ranks=None)
    slurm = load_profile("example-slurm", PACKAGED)
    assert (slurm.scheduler, slurm.launcher, slurm.memory_per_rank, slurm.time) == (
        "slurm", "srun", "4G", "01:00:00")


def test_lookup_order(isolated, monkeypatch):
    def cluster(name, ranks):
        return write_cluster(isolated, f"profiles:\n  workstation:\n    ranks: {ranks}\n", name)

    assert load_profile().source == str(PACKAGED)
    monkeypatch.setenv("SPINN_CLUSTER", str(cluster("from_env.yaml", 3)))
    assert load_profile().ranks == 3
    cluster("cluster.yaml", 4)
    assert load_profile().ranks == 4
    assert load_profile(cluster_file=cluster("given.yaml", 5)).ranks == 5


def test_default_key_and_builtin_workstation(tmp_path):
    cluster = write_cluster(tmp_path, "default: mine\nprofiles:\n  mine:\n    ranks: 7\n")
    assert load_profile(cluster_file=cluster).ranks == 7
    # a file without a workstation profile still has the packaged one
    assert load_profile("workstation", cluster).source == str(PACKAGED)


@pytest.mark.parametrize("key,value,expected", [
    ("time", "'2-00:00:00'", "2-00:00:00"),
    ("time", "01:00:00", "01:00:00"),  # YAML keeps this one a string
    ("time", "'30'", "30"),
    ("memory_per_rank", "512M", "512M"),
    ("mpi_args", "['--mpi=pmix']", ("--mpi=pmix",)),
    ("account", "null", None),
])
def test_valid_values(tmp_path, key, value, expected):
    cluster = write_cluster(tmp_path, f"profiles:\n  ok:\n    {key}: {value}\n")
    assert getattr(load_profile("ok", cluster), key) == expected


BAD_PROFILES = {
    "unknown key": ("big:\n    scheduler: slurm\n    nodez: 2\n", "'nodez'"),
    "wrong type": ("big:\n    mpi_args: --bind-to core\n", "'mpi_args'"),
    "bool is not a count": ("big:\n    ranks: true\n", "'ranks'"),
    "zero nodes": ("big:\n    scheduler: slurm\n    nodes: 0\n", "'nodes'"),
    "memory without unit": ("big:\n    memory_per_rank: lots\n", "'memory_per_rank'"),
    "unquoted time": ("big:\n    time: 1:00:00\n", "'time'"),
    "unknown scheduler": ("big:\n    scheduler: lsf\n", "'scheduler'"),
    "srun without slurm": ("big:\n    scheduler: pbs\n    launcher: srun\n", "'launcher'"),
    "more ranks than slots": ("big:\n    nodes: 1\n    ranks_per_node: 2\n    ranks: 3\n",
                              "'ranks'"),
}


@pytest.mark.parametrize("command", [["run"], ["submit", "--dry-run"], ["submit"]])
@pytest.mark.parametrize("body,key", BAD_PROFILES.values(), ids=BAD_PROFILES.keys())
def test_bad_profile_is_one_line_naming_file_profile_and_key(script, capsys, body, key, command):
    cluster = write_cluster(script.parent, "profiles:\n  " + body, name="bad.yaml")
    with pytest.raises(ProfileError):
        load_profile("big", cluster)
    assert main([*command, "--cluster", str(cluster), "--profile", "big", str(script)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(cluster) in err and "'big'" in err and key in err
    assert "must be" in err or "allowed" in err


def test_unknown_profile_names_the_known_ones(script, capsys):
    assert issubclass(ProfileError, ValueError)
    cluster = write_cluster(script.parent, "profiles:\n  big:\n    ranks: 2\n", name="c.yaml")
    assert main(["run", "--cluster", str(cluster), "--profile", "huge", str(script)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(cluster) in err and "'huge'" in err and "big, workstation" in err


@pytest.mark.parametrize("command", ["run", "submit", "status"])
@pytest.mark.parametrize("text,words", [
    ("profiles: [a, b]\n", "'profiles'"),
    ("defaults: workstation\n", "'defaults'"),
    ("profiles:\n  big: {ranks: [\n", "invalid YAML"),
    ("default: [big]\nprofiles:\n  big: {}\n", "'default'"),
    ("profiles:\n  big: 3\n", "'big'"),
])
def test_bad_file_structure(script, capsys, text, words, command):
    cluster = write_cluster(script.parent, text, name="broken.yaml")
    target = "1234" if command == "status" else str(script)
    assert main([command, "--cluster", str(cluster), "--profile", "big", target]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(cluster) in err and words in err


def test_missing_cluster_file(script, capsys):
    assert main(["run", "--cluster", "nope.yaml", str(script)]) == 2
    assert "nope.yaml" in capsys.readouterr().err


# --- real jobs ------------------------------------------------------------------------------


def spinn_run(cwd, *args, timeout=30):
    """`spinn run ARGS` as a user types it; returns (exit code, stdout, stderr)."""
    env = dict(os.environ)
    env.pop("SPINN_CLUSTER", None)
    command = [sys.executable, "-m", "launch.cli", "run", *args]
    process = subprocess.Popen(command, cwd=cwd, env=env, text=True, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)  # spinn passes it on to the job
        out, err = process.communicate()
        pytest.fail(f"{shlex.join(command)} still running after {timeout} s\n{out}\n{err}")
    return process.returncode, out, err


def test_run_two_ranks(tmp_path):
    code, out, err = spinn_run(tmp_path, "-n", "2", str(SCRIPTS / "mpi_hello.py"))
    assert code == 0, err
    assert sorted(out.splitlines()) == ["hello from rank 0 of 2", "hello from rank 1 of 2"]


def test_exception_on_one_rank_ends_the_job(tmp_path):
    start = time.monotonic()
    code, out, err = spinn_run(tmp_path, "-n", "2", str(SCRIPTS / "mpi_boom.py"))
    assert code != 0
    assert "boom on rank 1" in err
    assert "did not abort" not in out
    assert time.monotonic() - start < 30




@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_ctrl_c_stops_every_rank(tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    env = dict(os.environ)
    env.pop("SPINN_CLUSTER", None)
    # As in a terminal: spinn in the foreground group, SIGINT not ignored.
    spinn = subprocess.Popen(
        [sys.executable, "-m", "launch.cli", "run", "-n", "2", str(SCRIPTS / "mpi_wait.py"),
         str(pids)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    rank_pids = []
    try:
        deadline = time.monotonic() + 30
        while len(list(pids.glob("*.pid"))) < 2:
            assert spinn.poll() is None, "the job ended before it was interrupted"
            assert time.monotonic() < deadline, "the ranks did not start within 30 s"
            time.sleep(0.1)
        time.sleep(0.2)  # the pid files may still be being written
        rank_pids = [int(p.read_text()) for p in pids.glob("*.pid")]
        os.killpg(spinn.pid, signal.SIGINT)  # what Ctrl-C at a terminal does
        assert spinn.wait(timeout=20) == 128 + signal.SIGINT
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in rank_pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in rank_pids if alive(pid)], "ranks survived Ctrl-C"
    finally:
        if spinn.poll() is None:
            os.killpg(spinn.pid, signal.SIGKILL)
        for pid in rank_pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_version_and_status_without_a_job_id(tmp_path):
    env = dict(os.environ)
    run = lambda *a: subprocess.run([sys.executable, "-m", "launch.cli", *a], cwd=tmp_path,  # noqa
                                    env=env, capture_output=True, text=True, timeout=60)
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("spinn 0.")
    empty = run("status")
    assert empty.returncode == 0 and "no jobs in ./spinn-jobs" in empty.stdout
    (tmp_path / "spinn-jobs" / "net-20261204-010101").mkdir(parents=True)
    (tmp_path / "spinn-jobs" / "net-20261204-010101" / "job.id").write_text("4242\n")
    listed = run("status")
    assert listed.returncode == 0
    assert listed.stdout.startswith("net-20261204-010101  job 4242: "), listed.stdout
