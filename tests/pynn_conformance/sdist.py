"""Fetch PyNN's source distribution (which carries PyNN's own test suite) for the
conformance tests, without copying any of it into this repository.

The sdist of the PyNN version spinn implements is downloaded once from PyPI (its JSON
API, with the sha256 PyPI publishes checked; else with ``pip download``) into a cache directory, ``$SPINN_TEST_CACHE``
or ``~/.cache/spinn-tests``, and unpacked there; later runs reuse it. Offline and not
cached, the tests are skipped with the reason, except under ``CI=true``, where a
conformance suite that silently does not run would be a false green, so they fail.
"""
import hashlib
import json
import os
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import pytest

PYNN_VERSION = "0.13.0"
SDIST_DIR = f"pynn-{PYNN_VERSION}"


def cache_dir() -> Path:
    root = os.environ.get("SPINN_TEST_CACHE") or Path.home() / ".cache" / "spinn-tests"
    return Path(root)


def _download(dest: Path) -> Path:
    try:
        return _download_json(dest)
    except Exception as json_error:
        try:
            return _download_pip(dest)
        except Exception as pip_error:
            raise RuntimeError(f"PyPI JSON API: {json_error!r}; pip download: "
                               f"{pip_error}") from None


def _download_pip(dest: Path) -> Path:
    """pip's own client (its index configuration, mirrors and proxies)."""
    import subprocess
    import sys
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         f"pyNN=={PYNN_VERSION}", "-d", str(dest)],
        capture_output=True, text=True, timeout=300)
    tarballs = sorted(dest.glob(f"[pP]y[nN][nN]-{PYNN_VERSION}.tar.gz"))
    if result.returncode or not tarballs:
        raise RuntimeError((result.stderr or result.stdout).strip()[-500:])
    return tarballs[0]


def _download_json(dest: Path) -> Path:
    """The sdist from PyPI's JSON API, its sha256 checked against PyPI's."""
    url = "https://pypi.org/pypi/pyNN/json"
    with urllib.request.urlopen(url, timeout=30) as response:
        project = json.load(response)
    sdist = next(f for f in project["releases"][PYNN_VERSION] if f["packagetype"] == "sdist")
    with urllib.request.urlopen(sdist["url"], timeout=120) as response:
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sdist["digests"]["sha256"]:
        raise RuntimeError(f"{sdist['filename']}: sha256 {digest} is not PyPI's")
    tarball = dest / sdist["filename"]
    partial = tarball.with_suffix(".part")
    partial.write_bytes(data)
    os.replace(partial, tarball)
    return tarball


def _fail_or_skip(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the PyNN conformance tests must run)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def pynn_sdist() -> Path:
    """The unpacked sdist's root directory, downloading and unpacking it if needed."""
    cache = cache_dir()
    root = cache / SDIST_DIR
    if (root / "test" / "system" / "scenarios" / "fixtures.py").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    tarballs = sorted(cache.glob(f"[pP]y[nN][nN]-{PYNN_VERSION}.tar.gz"))
    if tarballs:
        tarball = tarballs[0]
    else:
        try:
            tarball = _download(cache)
        except Exception as error:  # offline, PyPI unreachable, bad checksum ...
            _fail_or_skip(f"pyNN=={PYNN_VERSION} sdist not cached in {cache} and "
                          f"could not be downloaded: {error!r}")
    # unpack next to the cache and rename into place, so that a concurrent or
    # interrupted run never sees a half-unpacked tree
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        unpacked = next(p for p in Path(tmp).iterdir() if p.is_dir())
        try:
            os.replace(unpacked, root)
        except OSError:
            if not root.exists():
                raise
    return root


def import_as_package(name: str, directory: Path):
    """Import ``directory`` (which has an ``__init__.py``) as the package ``name``, so
    that its relative imports work without putting PyNN's ``test`` directory (whose
    name clashes with the standard library's ``test``) on ``sys.path``."""
    import importlib.util
    import sys
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, directory / "__init__.py", submodule_search_locations=[str(directory)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
