"""Process helpers shared by the command-line and Slurm tests."""
from pathlib import Path


def alive(pid):
    """True while process ``pid`` runs (zombies and dead processes are not alive)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")
