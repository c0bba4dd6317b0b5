"""What the ``spinn`` subcommands share: exit codes and argument types."""
from __future__ import annotations

import argparse

#: Exit code for a bad command line, cluster file or profile.
EXIT_USAGE = 2
#: Exit code when a needed program (launcher, scheduler command) is missing: the
#: shell's "command not found".
EXIT_NOT_FOUND = 127


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1.

    >>> positive_int("3")
    3
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0.

    >>> positive_float("2.5")
    2.5
    """
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value
