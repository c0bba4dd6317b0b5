"""Talk to the batch system: submit a script, ask a job's state, cancel a job.

Slurm: ``sbatch --parsable``, ``squeue`` (then ``sacct`` for jobs the controller has forgotten,
and ``scontrol`` for a finished job's exit code), ``scancel``. PBS: ``qsub``, ``qstat -f``
(then ``qstat -x -f``, PBS Pro's job history), ``qdel``. The commands are looked up on ``PATH``
when called; a missing one raises `SchedulerNotFoundError`. Nothing here parses user input
beyond checking that a job id looks like one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FINISHED_STATES",
    "JobStatus",
    "SchedulerError",
    "SchedulerNotFoundError",
    "UnknownJobError",
    "cancel_job",
    "check_job_id",
    "detect_scheduler",
    "find_submit_command",
    "job_status",
    "submit_script",
]

#: States in which a job will not run again (Slurm's names; PBS letters are mapped to them).
FINISHED_STATES = frozenset({
    "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY",
    "PREEMPTED", "TIMEOUT", "FINISHED", "EXPIRED",
})
_PBS_STATES = {
    "B": "BEGUN", "E": "EXITING", "F": "FINISHED", "H": "HELD", "M": "MOVED", "Q": "QUEUED",
    "R": "RUNNING", "S": "SUSPENDED", "T": "TRANSITING", "U": "SUSPENDED", "W": "WAITING",
    "X": "EXPIRED", "C": "COMPLETED",  # C: Torque's "completed"
}
_COMMANDS = {"slurm": ("sbatch", "squeue", "scancel"), "pbs": ("qsub", "qstat", "qdel")}
# Slurm: 123, 123_4 (array task), 123+1 (het job); PBS: 123.server, 123[].server, 123[4].server.
_JOB_ID = re.compile(r"^[0-9]+([_+][0-9]+)?(\[[0-9]*\])?(\.[A-Za-z0-9.-]+)?$")
_TIMEOUT = 60  # seconds; a scheduler that does not answer in a minute is down


class SchedulerError(RuntimeError):
    """A scheduler command failed or gave an answer we cannot read."""


class SchedulerNotFoundError(SchedulerError, FileNotFoundError):
    """The scheduler's command (``sbatch``, ``squeue``, ``qsub``, ...) is not on ``PATH``."""


class UnknownJobError(SchedulerError, LookupError):
    """The scheduler has no record of the job."""


@dataclass(frozen=True)
class JobStatus:
    """What the scheduler says about a job.

    ``exit_code`` is ``None`` while the job runs or when the scheduler does not say; a job
    killed by a signal has ``signal`` set. ``where`` is the node list of a running job or the
    reason a pending one waits.
    """

    job_id: str
    name: str
    state: str
    elapsed: str = ""
    exit_code: int | None = None
    signal: int | None = None
    where: str = ""

    def describe(self) -> str:
        """One line for a person: ``job 12 (net): COMPLETED, exit code 0, run time 0:05``."""
        parts = [self.state]
        if self.state == "RUNNING" and self.where:
            parts[0] += f" on {self.where}"
        elif self.state in ("PENDING", "QUEUED", "HELD") and self.where:
            parts[0] += f" ({self.where})"
        if self.signal:
            parts.append(f"killed by signal {self.signal}")
        elif self.exit_code is not None:
            parts.append(f"exit code {self.exit_code}")
        if self.elapsed:
            parts.append(f"run time {self.elapsed}")
        name = f" ({self.name})" if self.name else ""
        return f"job {self.job_id}{name}: " + ", ".join(parts)


def check_job_id(job_id: str) -> str:
    """Return ``job_id`` if it looks like a Slurm or PBS job id, else raise `ValueError`."""
    if not _JOB_ID.match(job_id):
        raise ValueError(
            f"{job_id!r} is not a job id: expected the number printed by spinn submit, "
            "e.g. 1234 (Slurm) or 1234.server (PBS)"
        )
    return job_id


def detect_scheduler(path: str | None = None) -> str:
    """``slurm`` if ``squeue`` is on ``PATH``, else ``pbs`` if ``qstat`` is.

    Raises
    ------
    SchedulerNotFoundError
        When neither is.
    """
    for scheduler in ("slurm", "pbs"):
        if shutil.which(_COMMANDS[scheduler][1], path=path):
            return scheduler
    raise SchedulerNotFoundError(
        "neither squeue (Slurm) nor qstat (PBS) found on PATH; run this on the cluster's login "
        "node"
    )


def _find(name: str, scheduler: str) -> str:
    found = shutil.which(name)
    if found is None:
        kind = "Slurm" if scheduler == "slurm" else "PBS"
        raise SchedulerNotFoundError(
            f"{name} not found on PATH: this needs a {kind} cluster's commands; run it on the "
            f"cluster's login node (or load its module), or choose another profile with --profile"
        )
    return found


def _call(
    command: list[str], *, cwd: str | os.PathLike | None = None
) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        name = Path(command[0]).name
        raise SchedulerError(f"{name} did not answer within {_TIMEOUT} s") from None
    except OSError as error:
        raise SchedulerError(f"cannot start {command[0]}: {error.strerror}") from None


def _complaint(result: subprocess.CompletedProcess) -> str:
    """The scheduler's own message, on one line."""
    text = (result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}")
    return " ".join(text.split())


# --- submit ---------------------------------------------------------------------------------


def find_submit_command(scheduler: str) -> str:
    """Path of ``sbatch`` (Slurm) or ``qsub`` (PBS); `SchedulerNotFoundError` if not on PATH."""
    return _find(_COMMANDS[scheduler][0], scheduler)


def submit_script(scheduler: str, script: str | os.PathLike, *, cwd: str | os.PathLike) -> str:
    """Submit the batch script and return the job id the scheduler gave it.

    The submission runs in ``cwd``: PBS records it as ``$PBS_O_WORKDIR``.
    """
    command = find_submit_command(scheduler)
    if scheduler == "slurm":
        result = _call([command, "--parsable", os.fspath(script)], cwd=cwd)
    else:
        result = _call([command, os.fspath(script)], cwd=cwd)
    if result.returncode != 0:
        raise SchedulerError(f"{Path(command).name} refused the job: {_complaint(result)}")
    # sbatch --parsable: "id" or "id;cluster"; qsub: "id.server".
    job_id = result.stdout.strip().split(";")[0]
    if not _JOB_ID.match(job_id):
        raise SchedulerError(f"{Path(command).name} gave no job id: {_complaint(result)}")
    return job_id


# --- status ---------------------------------------------------------------------------------


def job_status(scheduler: str, job_id: str) -> JobStatus:
    """Ask the scheduler about ``job_id``.

    Raises
    ------
    UnknownJobError
        The scheduler has no record of the job.
    SchedulerNotFoundError
        Its commands are not on ``PATH``.
    SchedulerError
        A command failed for another reason (say, the controller is down).
    """
    check_job_id(job_id)
    return _slurm_status(job_id) if scheduler == "slurm" else _pbs_status(job_id)


def _slurm_status(job_id: str) -> JobStatus:
    squeue = _find("squeue", "slurm")
    result = _call([squeue, "--noheader", "--states=all", f"--jobs={job_id}",
                    "--format=%i|%j|%T|%M|%R"])
    if result.returncode == 0 and result.stdout.strip():
        found, name, state, elapsed, where = result.stdout.splitlines()[0].split("|", 4)
        exit_code = signal = None
        if state in FINISHED_STATES:
            exit_code, signal = _slurm_exit_code(job_id)
        where = where.strip().removeprefix("(").removesuffix(")")  # pending: "(Resources)"
        return JobStatus(found.strip(), name, state, elapsed, exit_code, signal,
                         "" if where == "None" else where)
    if result.returncode != 0 and "invalid job id" not in result.stderr.lower():
        raise SchedulerError(f"squeue failed: {_complaint(result)}")
    # The controller forgets a finished job after MinJobAge (5 minutes by default): accounting.
    why = "sacct is not on PATH"
    sacct = shutil.which("sacct")
    if sacct:
        result = _call([sacct, "--noheader", "--parsable2", "--allocations", f"--jobs={job_id}",
                        "--format=JobID,JobName,State,ExitCode,Elapsed"])
        rows = [line.split("|") for line in result.stdout.splitlines() if line.count("|") == 4]
        if result.returncode == 0 and rows:
            found, name, state, exit_code, elapsed = rows[0]
            code, signal = _split_exit_code(exit_code)
            # sacct says "CANCELLED by 0"
            return JobStatus(found, name, state.split()[0], elapsed, code, signal)
        why = (f"sacct cannot tell ({_complaint(result)})" if result.returncode != 0
               else "sacct has none either")
    raise UnknownJobError(
        f"job {job_id} is not known to Slurm: squeue has no record of it (finished jobs leave "
        f"it after a few minutes) and {why}"
    )


def _slurm_exit_code(job_id: str) -> tuple[int | None, int | None]:
    scontrol = shutil.which("scontrol")
    if scontrol is None:
        return None, None
    result = _call([scontrol, "--oneliner", "show", "job", job_id])
    match = re.search(r"(?:^|\s)ExitCode=(\d+:\d+)", result.stdout)
    return _split_exit_code(match.group(1)) if match else (None, None)


def _split_exit_code(text: str) -> tuple[int | None, int | None]:
    """Slurm's ``code:signal``."""
    code, _, signal = text.partition(":")
    try:
        return int(code), (int(signal) if signal else 0) or None
    except ValueError:
        return None, None


def _pbs_status(job_id: str) -> JobStatus:
    qstat = _find("qstat", "pbs")
    result = _call([qstat, "-f", job_id])
    fields = _pbs_fields(result.stdout) if result.returncode == 0 else {}
    if "job_state" not in fields:
        # PBS Pro keeps finished jobs in its history (-x); Torque reads -x as "XML", which the
        # parser below does not recognise, so the job is reported unknown there.
        history = _call([qstat, "-x", "-f", job_id])
        if history.returncode == 0:
            fields = _pbs_fields(history.stdout)
    if "job_state" not in fields:
        if result.returncode != 0 and "unknown job" not in result.stderr.lower():
            raise SchedulerError(f"qstat failed: {_complaint(result)}")
        raise UnknownJobError(f"job {job_id} is not known to PBS: qstat has no record of it")
    state = _PBS_STATES.get(fields["job_state"], fields["job_state"])
    exit_code = fields.get("Exit_status") or fields.get("exit_status")
    code = int(exit_code) if exit_code and exit_code.lstrip("-").isdigit() else None
    signal = None
    if code is not None and code > 256:  # PBS Pro: 256 + signal for a job killed by one
        code, signal = None, code - 256
    return JobStatus(fields.get("Job Id", job_id), fields.get("Job_Name", ""), state,
                     fields.get("resources_used.walltime", ""), code, signal,
                     fields.get("exec_host", fields.get("comment", "")))


def _pbs_fields(text: str) -> dict[str, str]:
    """``qstat -f`` output as a dict (``Job Id`` included; continuation lines joined)."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line.startswith("Job Id:"):
            fields["Job Id"] = line.partition(":")[2].strip()
        elif " = " in line:
            key, _, value = line.strip().partition(" = ")
            fields[key] = value.strip()
        elif key is not None and line.startswith("\t"):
            fields[key] += line.strip()
    return fields


# --- cancel ---------------------------------------------------------------------------------


def cancel_job(scheduler: str, job_id: str) -> JobStatus:
    """Cancel ``job_id``; returns its status before the cancel.

    Raises
    ------
    UnknownJobError
        The scheduler has no record of the job.
    SchedulerError
        The job has already finished (nothing to cancel), or the cancel command failed.
    """
    # Ask first: scancel exits 0 even for a job id it does not know.
    status = job_status(scheduler, job_id)
    if status.state in FINISHED_STATES:
        raise SchedulerError(f"job {job_id} already ended ({status.state}); nothing to cancel")
    command = _find(_COMMANDS[scheduler][2], scheduler)
    result = _call([command, job_id])
    # scancel reports some refusals (another user's job, say) on stderr with exit status 0.
    if result.returncode != 0 or "error:" in result.stderr:
        raise SchedulerError(f"{Path(command).name} failed: {_complaint(result)}")
    return status
