"""`spinn submit` without a cluster: rendered batch scripts (golden files), --dry-run, errors.

Submission to a real Slurm is in `test_slurm.py`. The golden files in `golden/` are the exact
scripts; after an intended change, rewrite them with ``SPINN_UPDATE_GOLDEN=1 pytest
tests/e2e/test_submit.py`` and review the diff.
"""
import os
import re
from pathlib import Path

import pytest

from launch.batch import (
    BatchJob, job_launcher, job_name_for, job_python, pbs_memory, pbs_walltime,
    render_batch_script,
)
from launch.cli import main
from launch.profiles import Profile, ProfileError, load_profile

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
PACKAGED = ROOT / "launch" / "cluster.yaml"
PYTHON = "/opt/venv/bin/python"  # does not exist: launchers stay bare names
JOB = BatchJob(
    name="cuba",
    directory=Path("/home/ada/sims/spinn-jobs/cuba-20250102-030405"),
    workdir=Path("/home/ada/sims"),
    script="/home/ada/sims/cuba.py",
    args=("--tstop", "1000", "--out", "run 1.pkl"),
    python=PYTHON,
)


def check_golden(name, text):
    path = GOLDEN / name
    if os.environ.get("SPINN_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs (SPINN_UPDATE_GOLDEN=1 rewrites it)"


def profile_from(tmp_path, body, name="p"):
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(f"profiles:\n  {name}:\n" + "".join(f"    {line}\n" for line in body))
    return load_profile(name, cluster)


FULL = ["partition: compute", "nodes: 2", "ranks_per_node: 32", 'memory_per_rank: "4G"',
        'time: "1-12:00:00"', "account: proj42", "modules: [openmpi/4.1, hdf5]",
        "setup: ['export OMP_NUM_THREADS=1', 'ulimit -s unlimited']"]

GOLDEN_CASES = {
    "slurm_full.sh": ["scheduler: slurm", *FULL, "mpi_args: ['--mpi=pmix']"],
    "slurm_minimal.sh": ["scheduler: slurm", "ranks_per_node: 4"],
    "slurm_mpiexec_activated.sh": [
        "scheduler: slurm", "nodes: 3", "ranks_per_node: 8", "ranks: 20", "launcher: mpiexec",
        "mpi_args: [-bind-to, core]", "setup: ['source $HOME/venvs/spinn/bin/activate']"],
    "pbs_full.sh": ["scheduler: pbs", *FULL, "launcher: mpirun"],
    "pbs_minimal.sh": ["scheduler: pbs", "ranks_per_node: 4", 'time: "90"'],
}


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_rendered_script_matches_golden(tmp_path, monkeypatch, name):
    monkeypatch.setenv("SLURM_JOB_ID", "1")  # must not matter: the script says what it needs
    check_golden(name, render_batch_script(profile_from(tmp_path, GOLDEN_CASES[name]), JOB))


def test_srun_in_the_script_never_asks_for_resources(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    text = render_batch_script(profile_from(tmp_path, GOLDEN_CASES["slurm_full.sh"]), JOB)
    assert text.splitlines()[-1].startswith(
        f"srun -n 64 --kill-on-bad-exit=1 --mpi=pmix {PYTHON} -m launch.rank ")


def test_launch_line_quotes_arguments_for_the_shell(tmp_path):
    text = render_batch_script(profile_from(tmp_path, GOLDEN_CASES["slurm_minimal.sh"]), JOB)
    assert text.endswith(" /home/ada/sims/cuba.py --tstop 1000 --out 'run 1.pkl'\n")


@pytest.mark.parametrize("slurm,pbs", [
    ("30", "00:30:00"), ("90", "01:30:00"), ("5:30", "00:05:30"), ("02:00:00", "02:00:00"),
    ("1-0", "24:00:00"), ("2-1:30", "49:30:00"), ("1-00:00:01", "24:00:01"),
])
def test_pbs_walltime(slurm, pbs):
    assert pbs_walltime(slurm) == pbs


def test_pbs_memory_is_per_node():
    assert pbs_memory("4G", 32) == "128gb"
    assert pbs_memory("1500M", 3) == "4500mb"


def test_job_names():
    assert job_name_for("examples/poisson_input.py") == "poisson_input"
    assert job_name_for("/x/3-net v2.py") == "job-3-net_v2"
    assert len(job_name_for("a" * 100 + ".py")) == 63


def _executable(path):
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_python_and_launcher_of_the_job(tmp_path):
    python = _executable(tmp_path / "python")
    mpiexec = _executable(tmp_path / "mpiexec")
    plain = Profile("p", "c.yaml", scheduler="slurm", launcher="mpiexec")
    assert (job_python(plain, python), job_launcher(plain, python)) == (python, mpiexec)
    # A cluster's MPI comes from its modules; an activated environment has its own python.
    with_module = Profile("p", "c.yaml", launcher="mpiexec", modules=("openmpi",))
    assert job_launcher(with_module, python) == "mpiexec"
    activated = Profile("p", "c.yaml", launcher="mpiexec", setup=("conda activate sim",))
    assert job_python(activated, python) == "python"
    assert job_launcher(activated, job_python(activated, python)) == "mpiexec"
    deactivated_word = Profile("p", "c.yaml", setup=("export ACTIVATED_AT=now",))
    assert job_python(deactivated_word, python) == python


# --- spinn submit --dry-run -----------------------------------------------------------------


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty directory with no $SPINN_CLUSTER and no scheduler commands on PATH."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("SPINN_CLUSTER", raising=False)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return work


def normalise(text, workdir):
    import sys

    text = text.replace(sys.executable, "<PYTHON>").replace(str(workdir), "<CWD>")
    return re.sub(r"-[0-9]{8}-[0-9]{6}/", "-<TIMESTAMP>/", text)


@pytest.mark.parametrize("profile", ["example-slurm", "example-pbs"])
def test_dry_run_prints_the_script_and_writes_nothing(isolated, capsys, profile):
    code = main(["submit", "--dry-run", "--profile", profile, "nets/not_here.py", "--tstop",
                 "100"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    check_golden(f"dry_run_{profile}.sh", normalise(out, Path.cwd()))
    assert list(isolated.iterdir()) == []


def test_dry_run_names_the_job(isolated, capsys):
    assert main(["submit", "--dry-run", "--profile", "example-slurm", "--name", "big-1",
                 "net.py"]) == 0
    out = capsys.readouterr().out
    assert "#SBATCH --job-name=big-1\n" in out
    assert re.search(r"--output=\S+/spinn-jobs/big-1-[0-9]{8}-[0-9]{6}/job.out\n", out)


# --- errors ---------------------------------------------------------------------------------


def one_line_error(capsys, *words):
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def test_workstation_profile_cannot_be_submitted(isolated, capsys):
    assert main(["submit", "--dry-run", "net.py"]) == 2
    one_line_error(capsys, str(PACKAGED), "'workstation'", "'scheduler'", "slurm or pbs")


def test_submit_needs_ranks_per_node(isolated, capsys):
    (isolated / "c.yaml").write_text("profiles:\n  big:\n    scheduler: slurm\n    nodes: 4\n")
    assert main(["submit", "--cluster", "c.yaml", "--profile", "big", "--dry-run", "x.py"]) == 2
    one_line_error(capsys, "c.yaml", "'big'", "'ranks_per_node'", "required")


@pytest.mark.parametrize("name", ["9lives", "my job", "a/b", "-x", "x" * 64])
def test_bad_job_name(isolated, capsys, name):
    assert main(["submit", "--profile", "example-slurm", "--dry-run", f"--name={name}",
                 "x.py"]) == 2
    one_line_error(capsys, repr(name), "must start with a letter")


def test_missing_script_argument_and_file(isolated, capsys):
    assert main(["submit", "--profile", "example-slurm"]) == 2
    one_line_error(capsys, "missing SCRIPT")
    assert main(["submit", "--profile", "example-slurm", "nowhere.py"]) == 2
    one_line_error(capsys, "'nowhere.py' not found")


@pytest.mark.parametrize("profile,command", [("example-slurm", "sbatch"), ("example-pbs", "qsub")])
def test_missing_scheduler_commands(isolated, capsys, profile, command):
    (isolated / "net.py").write_text("print('hi')\n")
    assert main(["submit", "--profile", profile, "net.py"]) == 127
    one_line_error(capsys, f"{command} not found on PATH", "--dry-run")
    assert list(isolated.iterdir()) == [isolated / "net.py"]  # no job directory left behind


@pytest.mark.parametrize("command", ["status", "cancel"])
def test_status_and_cancel_without_a_scheduler(isolated, capsys, command):
    assert main([command, "--profile", "example-slurm", "12"]) == 127
    one_line_error(capsys, "squeue not found on PATH")
    assert main([command, "--profile", "example-pbs", "12"]) == 127
    one_line_error(capsys, "qstat not found on PATH")
    assert main([command, "12"]) == 127  # workstation: whichever is installed
    one_line_error(capsys, "neither squeue (Slurm) nor qstat (PBS)")


@pytest.mark.parametrize("job_id", ["-1", "abc", "12;rm", "12 13", ""])
def test_bad_job_id(isolated, capsys, job_id):
    assert main(["status", "--profile", "example-slurm", "--", job_id]) == 2
    one_line_error(capsys, "is not a job id")


def test_bad_profile_for_status(isolated, capsys):
    (isolated / "cluster.yaml").write_text("profiles:\n  x:\n    scheduler: lsf\n")
    assert main(["status", "--profile", "x", "12"]) == 2
    one_line_error(capsys, "cluster.yaml", "'x'", "'scheduler'", "none, slurm, pbs")


def test_pbs_profile_cannot_use_srun(tmp_path):
    with pytest.raises(ProfileError, match=r"profile 'p': key 'launcher' must be .*got 'srun'"):
        profile_from(tmp_path, ["scheduler: pbs", "launcher: srun"])


# --- PBS commands, stood in for by scripts (no PBS server here) -----------------------------

QSTAT_RUNNING = """Job Id: 42.pbs01
    Job_Name = cuba
    job_state = R
    resources_used.walltime = 00:02:05
    exec_host = node7/0*4
"""
QSTAT_FINISHED = """Job Id: 43.pbs01
    Job_Name = cuba
    job_state = F
    resources_used.walltime = 01:00:00
    Exit_status = 3
"""


@pytest.fixture
def fake_pbs(isolated, monkeypatch):
    """qsub, qstat and qdel that log their arguments; qstat -f knows 42 (running) and, with -x,
    43 (finished)."""
    bin_dir = Path(os.environ["PATH"])
    (bin_dir / "qstat.out").write_text(QSTAT_RUNNING)
    (bin_dir / "qstat-x.out").write_text(QSTAT_FINISHED)
    log = bin_dir / "calls.log"
    scripts = {
        "qsub": 'echo "qsub $* in $PWD" >> "{log}"; echo 77.pbs01',
        "qdel": 'echo "qdel $*" >> "{log}"',
        "qstat": ('case "$*" in\n'
                  '  "-f 42.pbs01") cat "{bin}/qstat.out";;\n'
                  '  "-x -f 43.pbs01") cat "{bin}/qstat-x.out";;\n'
                  '  *) echo "qstat: Unknown Job Id ${{@: -1}}" >&2; exit 153;;\n'
                  'esac'),
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text("#!/bin/bash\n" + body.format(log=log, bin=bin_dir) + "\n")
        path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return log


def test_pbs_submit_status_cancel(fake_pbs, isolated, capsys):
    (isolated / "net.py").write_text("print('hi')\n")
    assert main(["submit", "--profile", "example-pbs", "net.py", "-x"]) == 0
    out, err = capsys.readouterr()
    assert out == "77.pbs01\n" and "submitted job 77.pbs01 (net)" in err
    (job_sh,) = isolated.glob("spinn-jobs/net-*/job.sh")
    assert fake_pbs.read_text() == f"qsub {job_sh} in {isolated}\n"  # PBS_O_WORKDIR
    assert (job_sh.parent / "job.id").read_text() == "77.pbs01\n"
    assert "\n#PBS -o " + str(job_sh.parent / "job.out") + "\n" in job_sh.read_text()

    assert main(["status", "--profile", "example-pbs", "42.pbs01"]) == 0
    assert capsys.readouterr().out == (
        "job 42.pbs01 (cuba): RUNNING on node7/0*4, run time 00:02:05\n")
    assert main(["status", "--profile", "example-pbs", "43.pbs01"]) == 0
    assert capsys.readouterr().out == (
        "job 43.pbs01 (cuba): FINISHED, exit code 3, run time 01:00:00\n")
    assert main(["status", "--profile", "example-pbs", "44"]) == 1
    one_line_error(capsys, "job 44 is not known to PBS")

    assert main(["cancel", "--profile", "example-pbs", "42.pbs01"]) == 0
    assert capsys.readouterr().out == "job 42.pbs01: cancelled (was RUNNING)\n"
    assert fake_pbs.read_text().splitlines()[-1] == "qdel 42.pbs01"
    assert main(["cancel", "--profile", "example-pbs", "43.pbs01"]) == 1
    one_line_error(capsys, "already ended (FINISHED)")
    assert main(["cancel", "--profile", "example-pbs", "44"]) == 1
    one_line_error(capsys, "not known to PBS")
    assert len(fake_pbs.read_text().splitlines()) == 2  # one qsub, one qdel
