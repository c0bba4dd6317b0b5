"""``spinn submit``, ``spinn status`` and ``spinn cancel``: batch jobs on Slurm or PBS.

``spinn submit [--profile P] [--cluster FILE] [--dry-run] [--name NAME] SCRIPT [ARGS ...]``
writes ``./spinn-jobs/<name>-<YYYYmmdd-HHMMSS>/job.sh`` (see `launch.batch`), submits it with
``sbatch`` (``qsub`` for a ``scheduler: pbs`` profile) and prints the job id on stdout; the
job's stdout and stderr go to ``job.out`` and ``job.err`` in the same directory, its id to
``job.id``. The job runs in the directory ``spinn submit`` was started from. ``--dry-run``
prints the script and neither writes nor submits anything.

``spinn status [--profile P] [--cluster FILE] JOBID`` prints one line (state, exit code, run
time); ``spinn cancel ... JOBID`` cancels a pending or running job. The scheduler is the
profile's; for a profile without one (``workstation``) it is Slurm if ``squeue`` is on
``PATH``, else PBS if ``qstat`` is.

Exit status: 0 on success; 1 when the scheduler refuses, does not know the job, or (cancel) the
job has already ended; 2 for a bad command line or profile; 127 when the scheduler's commands
are not installed. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from launch.batch import (
    BATCH_SCHEDULERS, SCRIPT_FILE, BatchJob, check_job_name, job_name_for,
    render_batch_script,
)
from launch.arguments import EXIT_NOT_FOUND, EXIT_USAGE
from launch.profiles import Profile, ProfileError, load_profile
from launch.scheduler import (
    SchedulerError, SchedulerNotFoundError, cancel_job, check_job_id, detect_scheduler,
    find_submit_command, job_status, submit_script,
)

EXIT_FAILED = 1
EXIT_NOT_INSTALLED = EXIT_NOT_FOUND
#: Where job directories go, relative to the directory spinn submit runs in.
JOBS_DIRECTORY = "spinn-jobs"


def register(subparsers) -> None:
    """Add the ``submit``, ``status`` and ``cancel`` commands to ``spinn``'s subparsers."""
    submit = subparsers.add_parser(
        "submit",
        help="render and submit a batch script (Slurm or PBS)",
        usage="spinn submit [-h] [--profile P] [--cluster FILE] [--dry-run] [--name NAME] "
        "SCRIPT [ARGS ...]",
        description="Write a batch script that runs SCRIPT on the profile's nodes * "
        "ranks_per_node MPI ranks, into ./spinn-jobs/NAME-TIMESTAMP/job.sh, submit it with "
        "sbatch (qsub for PBS) and print the job id. The job runs in the current directory; "
        "its stdout and stderr go to job.out and job.err next to job.sh.",
    )
    _profile_options(submit)
    submit.add_argument("--dry-run", action="store_true",
                        help="print the batch script; write and submit nothing")
    submit.add_argument("--name", help="job name (default: the script's file name)")
    submit.add_argument("command_line", metavar="SCRIPT [ARGS ...]", nargs=argparse.REMAINDER,
                        help="the Python script to run on every rank, and its arguments")
    submit.set_defaults(handler=submit_job)

    for name, summary, handler in (
        ("status", "show the state of a submitted job", show_status),
        ("cancel", "cancel a submitted job", cancel),
    ):
        command = subparsers.add_parser(
            name, help=summary,
            description=f"{summary[0].upper()}{summary[1:]}, with the scheduler of the profile "
            "(squeue/scancel for Slurm, qstat/qdel for PBS; without one: whichever is installed).",
        )
        _profile_options(command)
        if name == "status":
            command.add_argument("job_id", metavar="JOBID", nargs="?",
                                 help="the id spinn submit printed (default: every job in "
                                      f"./{JOBS_DIRECTORY})")
        else:
            command.add_argument("job_id", metavar="JOBID", help="the id spinn submit printed")
        command.set_defaults(handler=handler)


def _profile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", metavar="P",
                        help="cluster profile (default: the file's default)")
    parser.add_argument(
        "--cluster", metavar="FILE",
        help="cluster file (default: ./cluster.yaml, then $SPINN_CLUSTER, then the packaged one)",
    )


def _fail(message: str, code: int) -> int:
    print(f"spinn: {message}", file=sys.stderr)
    return code


# --- submit ---------------------------------------------------------------------------------


def submit_job(options: argparse.Namespace) -> int:
    """``spinn submit``."""
    command_line = options.command_line
    if command_line[:1] == ["--"]:
        command_line = command_line[1:]
    if not command_line:
        return _fail("submit: missing SCRIPT (usage: spinn submit [--profile P] SCRIPT [ARGS ...])",
                     EXIT_USAGE)
    script, *args = command_line
    try:
        profile = load_profile(options.profile, options.cluster)
        name = check_job_name(options.name) if options.name else job_name_for(script)
    except ValueError as error:  # ProfileError included
        return _fail(str(error), EXIT_USAGE)
    workdir = Path.cwd()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    job = BatchJob(
        name=name,
        directory=workdir / JOBS_DIRECTORY / f"{name}-{stamp}",
        workdir=workdir,
        script=os.path.abspath(script),  # the job script may be run from elsewhere
        args=tuple(args),
        python=sys.executable,
    )
    try:
        text = render_batch_script(profile, job)
    except ValueError as error:
        return _fail(str(error), EXIT_USAGE)
    if options.dry_run:
        sys.stdout.write(text)
        return 0
    if not Path(script).is_file():
        return _fail(f"submit: script {script!r} not found", EXIT_USAGE)
    return _write_and_submit(profile, job)


def _write_and_submit(profile: Profile, job: BatchJob) -> int:
    """Create the job directory, write job.sh there and submit it; prints the job id."""
    try:
        find_submit_command(profile.scheduler)
    except SchedulerNotFoundError as error:
        return _fail(f"submit: {error} (spinn submit --dry-run prints the script)",
                     EXIT_NOT_INSTALLED)
    try:
        job = replace(job, directory=_new_directory(job.directory))
        path = job.directory / SCRIPT_FILE
        path.write_text(render_batch_script(profile, job))
        path.chmod(0o755)
    except OSError as error:
        return _fail(f"submit: cannot write the job script in {job.directory}: {error.strerror}",
                     EXIT_FAILED)
    try:
        job_id = submit_script(profile.scheduler, path, cwd=job.workdir)
    except SchedulerError as error:
        return _fail(f"submit: {error} (the script is in {path})", EXIT_FAILED)
    (job.directory / "job.id").write_text(job_id + "\n")
    print(job_id)
    try:
        shown = job.directory.relative_to(job.workdir)
    except ValueError:
        shown = job.directory
    print(f"spinn: submitted job {job_id} ({job.name}); script and output in {shown}/",
          file=sys.stderr)
    return 0


def _new_directory(wanted: Path) -> Path:
    """Create ``wanted``, or ``wanted-2``, ``wanted-3``, ... if it exists."""
    wanted.parent.mkdir(parents=True, exist_ok=True)
    candidate, number = wanted, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            number += 1
            candidate = wanted.with_name(f"{wanted.name}-{number}")


# --- status and cancel ----------------------------------------------------------------------


def _scheduler_of(options: argparse.Namespace) -> str:
    """The profile's scheduler, or whichever one is installed for a profile without one."""
    profile = load_profile(options.profile, options.cluster)
    if profile.scheduler in BATCH_SCHEDULERS:
        return profile.scheduler
    return detect_scheduler()


def show_status(options: argparse.Namespace) -> int:
    """``spinn status [JOBID]``: one job, or every job ``spinn submit`` wrote here."""
    if options.job_id is not None:
        return _ask(options, "status")
    jobs = sorted(Path(JOBS_DIRECTORY).glob("*/job.id"))
    if not jobs:
        print(f"no jobs in ./{JOBS_DIRECTORY} (spinn submit writes them there)")
        return 0
    try:
        scheduler = _scheduler_of(options)
    except ProfileError as error:
        return _fail(str(error), EXIT_USAGE)
    except SchedulerNotFoundError:
        scheduler = None
    for file in jobs:
        job_id = file.read_text().strip()
        try:
            state = (job_status(scheduler, job_id).describe() if scheduler
                     else "unknown (no scheduler installed here)")
        except (SchedulerError, SchedulerNotFoundError, ValueError) as error:
            state = f"unknown ({error})"
        print(f"{file.parent.name}  job {job_id}: {state}")
    return 0


def cancel(options: argparse.Namespace) -> int:
    """``spinn cancel``."""
    return _ask(options, "cancel")


def _ask(options: argparse.Namespace, command: str) -> int:
    try:
        check_job_id(options.job_id)
    except ValueError as error:
        return _fail(f"{command}: {error}", EXIT_USAGE)
    try:
        scheduler = _scheduler_of(options)
        if command == "status":
            print(job_status(scheduler, options.job_id).describe())
        else:
            before = cancel_job(scheduler, options.job_id)
            print(f"job {options.job_id}: cancelled (was {before.state})")
    except ProfileError as error:
        return _fail(str(error), EXIT_USAGE)
    except SchedulerNotFoundError as error:
        return _fail(f"{command}: {error}", EXIT_NOT_INSTALLED)
    except SchedulerError as error:
        return _fail(f"{command}: {error}", EXIT_FAILED)
    return 0
