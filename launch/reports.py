"""What the ranks of a ``spinn run`` job reported, and how the launcher says it.

The ranks (see `launch.rank`) write small JSON files into the job's directory; `read_reports`
reads them and `describe_failure` turns them into what the user reads: an error raised alike on
every rank once, with the rank count, different errors each under its rank, a rank killed by a
signal by its rank, signal and likely cause. Pure functions of the files; nothing here signals a
process.
"""
from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field

from launch.rank import EXIT_ERROR, describe_signal

__all__ = ["Reports", "describe_failure", "exit_code", "format_time", "read_reports"]


@dataclass
class Reports:
    """The files of a job directory, by rank."""

    pids: dict = field(default_factory=dict)     # rank -> {"host", "pid", "child"}
    errors: dict = field(default_factory=dict)   # rank -> {"type", "message", "traceback"}
    exits: dict = field(default_factory=dict)    # rank -> {"host", "returncode", "signal"}
    stopped: dict | None = None                  # {"t": ms or None}, from rank 0 on SIGINT

    @property
    def failed(self) -> bool:
        return bool(self.exits or self.errors)


def read_reports(directory: str) -> Reports:
    """Everything the ranks have written to ``directory`` so far (partial files are skipped)."""
    reports = Reports()
    try:
        names = os.listdir(directory)
    except OSError:
        return reports
    for name in names:
        stem, dot, kind = name.partition(".")
        if name == "stopped":
            reports.stopped = _load(os.path.join(directory, name))
            continue
        if not (stem.startswith("rank") and stem[4:].isdigit()) or "." in kind:
            continue
        table = {"pid": reports.pids, "error": reports.errors, "exit": reports.exits}.get(kind)
        data = _load(os.path.join(directory, name)) if table is not None else None
        if data is not None:
            table[int(stem[4:])] = data
    return reports


def _load(path: str) -> dict | None:
    try:
        with open(path) as file:
            data = json.load(file)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _ranks_phrase(ranks: list[int], n_ranks: int | None) -> str:
    """``"all 3 ranks"``, ``"rank 1 (of 2)"``, ``"ranks 0, 2 (of 3)"``."""
    if n_ranks and n_ranks > 1 and len(ranks) == n_ranks:
        return f"all {n_ranks} ranks"
    of = f" (of {n_ranks})" if n_ranks else ""
    if len(ranks) == 1:
        return f"rank {ranks[0]}{of}"
    return "ranks " + ", ".join(map(str, ranks)) + of


def describe_failure(reports: Reports, n_ranks: int | None) -> str:
    """The text the launcher prints (on stderr) about the job's failed ranks.

    Ranks killed by a signal first (the likely cause of what the others then did), each on its
    own line; then each distinct traceback once, under the ranks that raised it; then other
    non-zero exit codes.
    """
    lines: list[str] = []
    here = socket.gethostname()
    for rank in sorted(reports.exits):
        exit_ = reports.exits[rank]
        if exit_.get("signal") and rank not in reports.errors:
            host = exit_.get("host")
            lines.append("spinn: " + describe_signal(rank, exit_["signal"],
                                                     None if host == here else host))
    groups: dict[str, list[int]] = {}
    for rank in sorted(reports.errors):
        groups.setdefault(reports.errors[rank].get("traceback", ""), []).append(rank)
    for text, ranks in groups.items():
        if n_ranks == 1:
            lines.append(text.rstrip("\n"))
            continue
        lines.append(f"spinn: error on {_ranks_phrase(ranks, n_ranks)}:")
        lines.append(text.rstrip("\n"))
    codes: dict[int, list[int]] = {}
    for rank in sorted(reports.exits):
        exit_ = reports.exits[rank]
        code = exit_.get("returncode")
        if not exit_.get("signal") and rank not in reports.errors and code:
            codes.setdefault(code, []).append(rank)
    for code, ranks in codes.items():
        lines.append(f"spinn: {_ranks_phrase(ranks, n_ranks)} exited with code {code}")
    return "\n".join(lines)


def exit_code(reports: Reports) -> int:
    """The job's exit code: 128 + the signal that killed a rank, else 1 after an uncaught
    exception, else a rank's own non-zero exit code."""
    for rank in sorted(reports.exits):
        signum = reports.exits[rank].get("signal")
        if signum and rank not in reports.errors:
            return 128 + signum
    if reports.errors:
        return EXIT_ERROR
    for rank in sorted(reports.exits):
        if reports.exits[rank].get("returncode"):
            return reports.exits[rank]["returncode"]
    return 1


def format_time(t_ms: float) -> str:
    """A simulated time without float noise.

    >>> format_time(523.4000000001), format_time(1000.0), format_time(0.0)
    ('523.4', '1000', '0')
    """
    text = f"{t_ms:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
