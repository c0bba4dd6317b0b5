"""Batch scripts for ``spinn submit``: a profile and a script in, the text of a job script out.

Nothing here runs a command or touches a file: `render_batch_script` is a pure function of a
`Profile` and a `BatchJob`, so what would be submitted can be printed (``--dry-run``) and
compared with golden files.

The job script has three parts, in this order:

1. scheduler directives from the profile (``#SBATCH`` for Slurm, ``#PBS`` for PBS);
2. ``module load`` lines (``modules``), then the profile's ``setup`` lines verbatim;
3. the launch line of `launch.launcher.build_launch_line`, as inside an allocation:
   ``srun -n N python -m launch.rank SCRIPT ARGS`` or ``mpiexec -n N ...``. Each rank runs
   ``python -m mpi4py SCRIPT ARGS`` under a watcher (`launch.rank`, no job directory here) that
   writes to the job's stderr which signal killed its rank and the likely cause (the kernel's
   OOM killer, a crash in native code, the scheduler), then ends as its rank did.

Which Python the ranks run (see `job_python`): the absolute path of the interpreter running
``spinn submit`` (``sys.executable``), so a job started from a virtual environment uses that
environment without activating it; unless a ``setup`` line activates an environment (it
contains the word ``activate``: ``source ~/venv/bin/activate``, ``conda activate sim``), in which
case the job runs plain ``python``, found on the ``PATH`` that activation sets up.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from launch.launcher import build_launch_line
from launch.profiles import Profile, ProfileError

__all__ = [
    "BATCH_SCHEDULERS",
    "BatchJob",
    "check_job_name",
    "job_name_for",
    "job_python",
    "job_ranks",
    "pbs_memory",
    "pbs_walltime",
    "render_batch_script",
]

#: Schedulers `spinn submit` can write scripts for.
BATCH_SCHEDULERS = ("slurm", "pbs")
#: Names of the files a job leaves in its directory.
SCRIPT_FILE, STDOUT_FILE, STDERR_FILE = "job.sh", "job.out", "job.err"

# Safe in a directive, a directory name and a PBS job name (which must start with a letter).
_JOB_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")
_ACTIVATES = re.compile(r"\bactivate\b")
_PBS_UNITS = {"K": "kb", "M": "mb", "G": "gb", "T": "tb"}


@dataclass(frozen=True)
class BatchJob:
    """What to run and where its files go (all paths absolute).

    ``directory`` holds ``job.sh`` and receives the job's stdout and stderr (``job.out``,
    ``job.err``); the job runs in ``workdir``, where ``spinn submit`` was started, so relative
    paths in ``args`` mean what they meant on the command line.
    """

    name: str
    directory: Path
    workdir: Path
    script: str
    args: tuple[str, ...] = ()
    python: str = sys.executable


def job_name_for(script: str | os.PathLike) -> str:
    """A job name derived from the script's file name.

    >>> job_name_for("examples/poisson_input.py")
    'poisson_input'
    >>> job_name_for("2 nets.py")
    'job-2_nets'
    """
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(script).stem) or "job"
    if not name[0].isalpha():
        name = "job-" + name
    return name[:63]


def check_job_name(name: str) -> str:
    """Return ``name`` if it is usable as a job name, else raise `ValueError` saying why."""
    if not _JOB_NAME.match(name):
        raise ValueError(
            f"job name {name!r} must start with a letter and contain only letters, digits, "
            "'_', '.' and '-' (at most 63 characters)"
        )
    return name


def job_ranks(profile: Profile) -> tuple[int, int, int]:
    """``(nodes, ranks_per_node, ranks)`` a batch job of ``profile`` asks for.

    ``nodes`` defaults to 1; ``ranks`` is the profile's ``ranks`` or ``nodes * ranks_per_node``.

    Raises
    ------
    ProfileError
        When the profile has no ``ranks_per_node``: a batch job must say how many ranks a node
        holds.
    """
    if profile.ranks_per_node is None:
        raise ProfileError(
            f"{profile.source}: profile {profile.name!r}: key 'ranks_per_node' is required by "
            "spinn submit (MPI ranks per node, an integer >= 1)"
        )
    nodes = profile.nodes or 1
    ranks = profile.ranks if profile.ranks is not None else nodes * profile.ranks_per_node
    return nodes, profile.ranks_per_node, ranks


def job_python(profile: Profile, python: str = sys.executable) -> str:
    """The interpreter the job's ranks run: ``python`` unless ``setup`` activates an environment.

    >>> from launch.profiles import Profile
    >>> job_python(Profile("p", "c.yaml"), "/home/me/venv/bin/python")
    '/home/me/venv/bin/python'
    >>> job_python(Profile("p", "c.yaml", setup=("conda activate sim",)), "/usr/bin/python3")
    'python'
    """
    if any(_ACTIVATES.search(line) for line in profile.setup):
        return "python"
    return python


def job_launcher(profile: Profile, python: str) -> str:
    """The launcher command in the job script.

    A bare name (``mpiexec``) that exists next to an absolute ``python`` is written as that path
    when the profile loads no modules: the ``mpich`` wheel installs ``mpiexec`` in a virtual
    environment's ``bin/``, which is not on the job's ``PATH`` unless the environment is
    activated (`launch.launcher.find_launcher` does the same for ``spinn run``). Otherwise the
    name is kept, to be found on the compute node after ``module load`` (which is how clusters
    provide their MPI) and ``setup``.
    """
    name = profile.launcher
    if not profile.modules and os.path.isabs(python) and os.sep not in name:
        beside = Path(python).parent / name
        if beside.is_file() and os.access(beside, os.X_OK):
            return str(beside)
    return name


def pbs_walltime(time: str) -> str:
    """A Slurm time limit as PBS's ``walltime`` (``H:MM:SS``; hours may exceed 24).

    >>> pbs_walltime("90"), pbs_walltime("1-12"), pbs_walltime("2:30:00"), pbs_walltime("5:30")
    ('01:30:00', '36:00:00', '02:30:00', '00:05:30')
    """
    days, _, clock = time.rpartition("-")
    parts = [int(part) for part in clock.split(":")]
    if days:  # D-H, D-H:M, D-H:M:S
        hours, minutes, seconds = (parts + [0, 0])[:3]
        hours += 24 * int(days)
    elif len(parts) == 1:  # M
        hours, minutes, seconds = 0, parts[0], 0
    elif len(parts) == 2:  # M:S
        hours, (minutes, seconds) = 0, parts
    else:  # H:M:S
        hours, minutes, seconds = parts
    total = (hours * 60 + minutes) * 60 + seconds
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"


def pbs_memory(memory_per_rank: str, ranks: int) -> str:
    """Memory of ``ranks`` ranks in PBS units, for a ``select`` chunk.

    >>> pbs_memory("4G", 32), pbs_memory("512M", 2)
    ('128gb', '1024mb')
    """
    return f"{int(memory_per_rank[:-1]) * ranks}{_PBS_UNITS[memory_per_rank[-1]]}"


def render_batch_script(profile: Profile, job: BatchJob) -> str:
    """The batch script that runs ``job`` with ``profile``'s scheduler and resources.

    Raises
    ------
    ProfileError
        When the profile's scheduler has no batch system (``none``) or it lacks
        ``ranks_per_node``.
    ValueError
        When a path of the job contains whitespace, which directives cannot hold.
    """
    if profile.scheduler not in BATCH_SCHEDULERS:
        raise ProfileError(
            f"{profile.source}: profile {profile.name!r}: key 'scheduler' is "
            f"{profile.scheduler!r}; spinn submit needs a profile whose scheduler is "
            f"{' or '.join(BATCH_SCHEDULERS)} (choose one with --profile)"
        )
    for path in (job.directory, job.workdir):
        if any(character.isspace() for character in str(path)):
            raise ValueError(
                f"job path {str(path)!r} contains whitespace, which batch directives cannot hold;"
                " submit from a directory without spaces"
            )
    nodes, ranks_per_node, ranks = job_ranks(profile)
    directives = (_slurm_directives if profile.scheduler == "slurm" else _pbs_directives)(
        profile, job, nodes, ranks_per_node
    )
    python = job_python(profile, job.python)
    # Inside the allocation: srun needs no resource flags, the batch directives granted them.
    line = build_launch_line(
        profile, ranks, job.script, job.args, python,
        launcher=job_launcher(profile, python), environ={"SLURM_JOB_ID": "(the batch job)"},
        rank_module="launch.rank",
    )
    body = ["set -e"]
    if profile.scheduler == "pbs":
        body.append('cd "$PBS_O_WORKDIR"')  # PBS starts jobs in $HOME
    body.append("# Unbuffered ranks: output of a rank killed by an abort is not lost.")
    body.append("export PYTHONUNBUFFERED=1")
    if profile.memory_per_rank is not None:
        # what each rank has, for spinn's memory check at the first run()
        body.append(f"export SPINN_MEMORY_PER_RANK={profile.memory_per_rank}")
    body += [f"module load {shlex.quote(module)}" for module in profile.modules]
    body += list(profile.setup)
    body.append(shlex.join(line))
    header = [
        "#!/bin/bash",
        f"# Written by spinn submit: job {job.name!r}, profile {profile.name!r}.",
    ]
    return "\n".join(header + directives + [""] + body) + "\n"


def _slurm_directives(
    profile: Profile, job: BatchJob, nodes: int, ranks_per_node: int
) -> list[str]:
    options = [f"--job-name={job.name}"]
    if profile.partition is not None:
        options.append(f"--partition={profile.partition}")
    options += [f"--nodes={nodes}", f"--ntasks-per-node={ranks_per_node}"]
    if profile.memory_per_rank is not None:
        options.append(f"--mem-per-cpu={profile.memory_per_rank}")  # one CPU per rank
    if profile.time is not None:
        options.append(f"--time={profile.time}")
    if profile.account is not None:
        options.append(f"--account={profile.account}")
    options += [
        f"--chdir={job.workdir}",
        f"--output={job.directory / STDOUT_FILE}",
        f"--error={job.directory / STDERR_FILE}",
    ]
    return [f"#SBATCH {option}" for option in options]


def _pbs_directives(
    profile: Profile, job: BatchJob, nodes: int, ranks_per_node: int
) -> list[str]:
    chunk = f"select={nodes}:ncpus={ranks_per_node}:mpiprocs={ranks_per_node}"
    if profile.memory_per_rank is not None:
        chunk += f":mem={pbs_memory(profile.memory_per_rank, ranks_per_node)}"
    options = [f"-N {job.name}"]
    if profile.partition is not None:
        options.append(f"-q {profile.partition}")
    options.append(f"-l {chunk}")
    if profile.time is not None:
        options.append(f"-l walltime={pbs_walltime(profile.time)}")
    if profile.account is not None:
        options.append(f"-A {profile.account}")
    options += [f"-o {job.directory / STDOUT_FILE}", f"-e {job.directory / STDERR_FILE}"]
    return [f"#PBS {option}" for option in options]
