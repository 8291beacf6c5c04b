"""The relocatable CPython that runs the scoring app on bases whose own Python is too old (ngc-20.09: 3.6).

Pinned by file name and SHA-256 (python-build-standalone's release asset). Downloaded once into .cache/ when the
network allows; where it does not, `build` stops before `docker build` and says what to put where. Render and lint
never need it.

Your own CPython: set STANDALONE_PYTHON to a relocatable CPython tarball in python-build-standalone's install_only
layout (python/bin/python3, with pip) and STANDALONE_PYTHON_SHA256 to its SHA-256; it replaces the pinned download.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from kit.context.files import sha256_of
from kit.errors import KitError
from kit.paths import CACHE_DIR as KIT_CACHE_DIR
from kit.progress import console

ARCHIVE = "cpython-3.11.10+20241016-x86_64-unknown-linux-gnu-install_only.tar.gz"
SHA256 = "8b50a442b04724a24c1eebb65a36a0c0e833d35374dbdf9c9470d8a97b164cd9"
URL = f"https://github.com/astral-sh/python-build-standalone/releases/download/20241016/{ARCHIVE}"
CACHE_DIR = KIT_CACHE_DIR / "standalone-python"
DOWNLOAD_TIMEOUT_S = 30
# The archive's name inside the build context, whichever archive it is.
CONTEXT_NAME = "cpython.tar.gz"
OVERRIDE_PATH = "STANDALONE_PYTHON"
OVERRIDE_SHA256 = "STANDALONE_PYTHON_SHA256"


class StandalonePythonMissing(KitError):
    pass


def override(environ: Mapping[str, str] = os.environ) -> tuple[Path, str] | None:
    """The user's own archive and its SHA-256 (both variables, or neither)."""
    path, digest = environ.get(OVERRIDE_PATH, "").strip(), environ.get(OVERRIDE_SHA256, "").strip().lower()
    if not path and not digest:
        return None
    if not (path and digest):
        missing = OVERRIDE_SHA256 if path else OVERRIDE_PATH
        raise StandalonePythonMissing(
            f"{OVERRIDE_PATH} and {OVERRIDE_SHA256} go together; set {missing} too (sha256sum <archive> prints it)"
        )
    return Path(path).expanduser().resolve(), digest


def checked_override(environ: Mapping[str, str] = os.environ) -> Path | None:
    chosen = override(environ)
    if chosen is None:
        return None
    path, digest = chosen
    if not path.is_file():
        raise StandalonePythonMissing(f"{OVERRIDE_PATH}={path}: no such file; point it at your CPython tarball")
    actual = sha256_of(path)
    if actual != digest:
        raise StandalonePythonMissing(
            f"{OVERRIDE_PATH}={path} has SHA-256 {actual}, not {OVERRIDE_SHA256}={digest}; fix whichever is wrong"
        )
    return path


def cached_archive(cache_dir: Path = CACHE_DIR) -> Path | None:
    """The user's archive when STANDALONE_PYTHON names one, else the cached pinned archive if its checksum matches."""
    if override() is not None:
        return checked_override()
    path = cache_dir / ARCHIVE
    return path if path.is_file() and sha256_of(path) == SHA256 else None


def download(target: Path, url: str = URL) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as partial:
        partial_path = Path(partial.name)
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                shutil.copyfileobj(response, partial)
        except BaseException:
            partial_path.unlink(missing_ok=True)
            raise
    actual = sha256_of(partial_path)
    if actual != SHA256:
        partial_path.unlink(missing_ok=True)
        raise StandalonePythonMissing(f"{url}: SHA-256 {actual} does not match the pinned {SHA256}; nothing kept")
    partial_path.replace(target)


def ensure_standalone_python(cache_dir: Path = CACHE_DIR, url: str = URL) -> Path:
    """The verified archive (the user's own, or the pinned one, downloaded if needed); an error naming the file, the
    place and the checksum if not."""
    own = checked_override()
    if own is not None:
        return own
    archive = cached_archive(cache_dir)
    if archive is not None:
        return archive
    target = cache_dir / ARCHIVE
    problem = f"{target} has SHA-256 {sha256_of(target)}" if target.is_file() else "it is not in the cache"
    console.print(f"standalone-python: {problem}; downloading {url}")
    try:
        download(target, url)
    except (urllib.error.URLError, OSError) as error:
        raise StandalonePythonMissing(
            f"this base needs a standalone CPython for the scoring app and {problem}; the download failed "
            f"({error}). Fetch {url} on a machine with access and put it at {target} (SHA-256 {SHA256}), or"
            f" use your own: {OVERRIDE_PATH}=<tarball> {OVERRIDE_SHA256}=<its sha256>."
        ) from None
    return target
