"""The layering the architecture fixes: the engine never imports PyNN (the
PyNN layers are spinn/pynn and spinn/compat, the sPyNNaker dialect on top of it),
partitioning never imports spinn or MPI, only spinn/comm.py imports mpi4py,
and launch/ never imports mpi4py."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = [p for p in (ROOT / "spinn").rglob("*.py")
          if not {"pynn", "compat"} & set(p.relative_to(ROOT / "spinn").parts)
          and p.relative_to(ROOT / "spinn").as_posix() != "__init__.py"]


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("path", ENGINE, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_engine_does_not_import_pynn(path):
    bad = [m for m in imported_modules(path) if m.split(".")[0] in ("pyNN", "neo", "lazyarray")]
    assert not bad, f"{path.name} imports {bad}"


def test_only_comm_imports_mpi4py():
    users = sorted(p.relative_to(ROOT).as_posix()
                   for pkg in ("spinn", "partitioning", "launch")
                   for p in (ROOT / pkg).rglob("*.py")
                   if any(m.split(".")[0] == "mpi4py" for m in imported_modules(p)))
    assert users == ["spinn/comm.py"]


def test_partitioning_is_pure():
    for p in (ROOT / "partitioning").rglob("*.py"):
        bad = [m for m in imported_modules(p) if m.split(".")[0] in ("spinn", "mpi4py", "pyNN")]
        assert not bad, f"{p.name} imports {bad}"

