"""Cluster profiles: named descriptions of how to start a job, read from ``cluster.yaml``.

A profile says which scheduler and launcher to use and what resources to ask for. The file is
looked up in this order (first hit wins):

1. the ``--cluster FILE`` given on the command line,
2. ``./cluster.yaml`` in the current directory,
3. the file named by ``$SPINN_CLUSTER``,
4. the default packaged with spinn (``launch/cluster.yaml``).

The ``workstation`` profile of the packaged default is always available, even when the file in
use does not define it. Every key is validated on load; a bad file raises `ProfileError` whose
message is one line naming the file, the profile, the key and what is allowed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import yaml

__all__ = ["Profile", "ProfileError", "find_cluster_file", "load_profile", "physical_cores"]

#: Name of the profile that is always available (local ``mpiexec``, ranks = physical cores).
WORKSTATION = "workstation"
SCHEDULERS = ("none", "slurm", "pbs")
_TOP_LEVEL_KEYS = ("default", "profiles")
_MEMORY = re.compile(r"^[1-9][0-9]*[KMGT]$")
# Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
_TIME = re.compile(r"^([0-9]+-)?[0-9]+(:[0-9]{1,2}){0,2}$")


class ProfileError(ValueError):
    """A cluster file or profile is missing, malformed or asks for something impossible."""


@dataclass(frozen=True)
class Profile:
    """How to start a job: scheduler, launcher and resources.

    ``ranks`` is ``None`` when the rank count is derived: ``nodes * ranks_per_node`` when both
    are set, otherwise the number of physical cores (see `default_ranks`).
    """

    name: str
    source: str  # the file the profile was read from, for messages
    scheduler: str = "none"
    launcher: str = "mpiexec"
    ranks: int | None = None
    mpi_args: tuple[str, ...] = ()
    partition: str | None = None
    nodes: int | None = None
    ranks_per_node: int | None = None
    memory_per_rank: str | None = None
    time: str | None = None
    account: str | None = None
    modules: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()

    def default_ranks(self) -> int:
        """Ranks to start when ``-n`` is not given."""
        if self.ranks is not None:
            return self.ranks
        if self.nodes is not None and self.ranks_per_node is not None:
            return self.nodes * self.ranks_per_node
        return physical_cores()


# --- validation of one key ------------------------------------------------------------------
# Each checker returns the normalised value or a description of what is allowed.


class _Invalid(Exception):
    def __init__(self, allowed: str):
        self.allowed = allowed


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(value: Any) -> int:
    if not _is_int(value) or value < 1:
        raise _Invalid("an integer >= 1")
    return value


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def checked(value: Any) -> Any:
        return None if value is None else check(value)

    return checked


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("a non-empty string")
    return value


def _scheduler(value: Any) -> str:
    if value not in SCHEDULERS:
        raise _Invalid("one of " + ", ".join(SCHEDULERS))
    return value


def _launcher(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("a command name or path, e.g. mpiexec, mpirun or srun")
    return value


def _text_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Invalid("a list of strings, e.g. [] or [\"--mpi=pmix\"]")
    return tuple(value)


def _memory(value: Any) -> str:
    if not isinstance(value, str) or not _MEMORY.match(value.strip()):
        raise _Invalid("a quoted size with unit K, M, G or T, e.g. \"4G\"")
    return value.strip()


def _time(value: Any) -> str:
    if _is_int(value):
        # YAML 1.1 reads an unquoted 01:00:00 as the number 3600.
        raise _Invalid("a quoted Slurm time such as \"01:00:00\" (unquoted, YAML reads it as a number)")
    if not isinstance(value, str) or not _TIME.match(value.strip()):
        raise _Invalid("a quoted Slurm time: \"MM\", \"HH:MM:SS\" or \"D-HH:MM:SS\"")
    return value.strip()


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "scheduler": _scheduler,
    "launcher": _launcher,
    "ranks": _optional(_positive_int),
    "mpi_args": _text_list,
    "partition": _optional(_text),
    "nodes": _optional(_positive_int),
    "ranks_per_node": _optional(_positive_int),
    "memory_per_rank": _optional(_memory),
    "time": _optional(_time),
    "account": _optional(_text),
    "modules": _text_list,
    "setup": _text_list,
}


# --- loading --------------------------------------------------------------------------------


def _packaged_file() -> Path:
    return Path(str(resources.files("launch").joinpath("cluster.yaml")))


def find_cluster_file(cluster_file: str | os.PathLike | None = None) -> Path:
    """Return the cluster file to use, following the lookup order in the module docstring."""
    if cluster_file is not None:
        path = Path(cluster_file)
        if not path.is_file():
            raise ProfileError(f"{path}: cluster file not found (given with --cluster)")
        return path
    local = Path("cluster.yaml")
    if local.is_file():
        return local
    from_env = os.environ.get("SPINN_CLUSTER")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ProfileError(f"{path}: cluster file not found (named by $SPINN_CLUSTER)")
        return path
    return _packaged_file()


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ProfileError(f"{path}: cannot read cluster file: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ProfileError(f"{path}: invalid YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping with keys 'default' and 'profiles'")
    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            raise ProfileError(
                f"{path}: unknown top-level key {key!r}; allowed: {', '.join(_TOP_LEVEL_KEYS)}"
            )
    profiles = data.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise ProfileError(f"{path}: key 'profiles' must be a mapping of profile name to settings")
    return {"default": data.get("default"), "profiles": profiles}


def _build(name: str, settings: Any, path: Path) -> Profile:
    where = f"{path}: profile {name!r}"
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise ProfileError(f"{where}: must be a mapping of keys to values, got {settings!r}")
    values: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in _CHECKS:
            raise ProfileError(
                f"{where}: unknown key {key!r}; allowed keys: {', '.join(_CHECKS)}"
            )
        try:
            values[key] = _CHECKS[key](value)
        except _Invalid as invalid:
            raise ProfileError(
                f"{where}: key {key!r} must be {invalid.allowed}, got {value!r}"
            ) from None
    if "launcher" not in values and values.get("scheduler") == "slurm":
        values["launcher"] = "srun"
    profile = Profile(name=name, source=str(path), **values)
    if profile.scheduler == "pbs" and Path(profile.launcher).name == "srun":
        raise ProfileError(
            f"{where}: key 'launcher' must be mpiexec, mpirun or a path with scheduler 'pbs' "
            f"(srun needs Slurm), got {profile.launcher!r}"
        )
    if (
        profile.ranks is not None
        and profile.nodes is not None
        and profile.ranks_per_node is not None
        and profile.ranks > profile.nodes * profile.ranks_per_node
    ):
        raise ProfileError(
            f"{where}: key 'ranks' must be at most nodes * ranks_per_node = "
            f"{profile.nodes * profile.ranks_per_node}, got {profile.ranks}"
        )
    return profile


def load_profile(
    name: str | None = None, cluster_file: str | os.PathLike | None = None
) -> Profile:
    """Load and validate a profile.

    Parameters
    ----------
    name
        Profile name; ``None`` means the file's ``default`` (``workstation`` if it has none).
    cluster_file
        Explicit cluster file (``--cluster``); ``None`` follows the lookup order.

    Raises
    ------
    ProfileError
        One line naming the file, the profile, the key and what is allowed.
    """
    path = find_cluster_file(cluster_file)
    data = _read(path)
    default = data["default"]
    if default is not None and not isinstance(default, str):
        raise ProfileError(f"{path}: key 'default' must be a profile name, got {default!r}")
    wanted = name or default or WORKSTATION
    profiles = data["profiles"]
    if wanted in profiles:
        return _build(wanted, profiles[wanted], path)
    if wanted == WORKSTATION:
        packaged = _packaged_file()
        return _build(WORKSTATION, _read(packaged)["profiles"].get(WORKSTATION), packaged)
    known = sorted(set(profiles) | {WORKSTATION})
    source = "--profile" if name else "key 'default'"
    raise ProfileError(
        f"{path}: profile {wanted!r} (from {source}) not found; known profiles: {', '.join(known)}"
    )


# --- hardware -------------------------------------------------------------------------------


def physical_cores() -> int:
    """Physical cores this process may run on (hyperthreads not counted).

    Linux: distinct (package, core) pairs among the CPUs in this process's affinity mask.
    Elsewhere, or if the topology cannot be read: ``os.cpu_count()``.
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = list(range(os.cpu_count() or 1))
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return os.cpu_count() or 1
        cores.add((package, core))
    return len(cores) or os.cpu_count() or 1

