"""The relocatable CPython that runs the scoring app on bases whose own Python is too old (ngc-20.09: 3.6).

Pinned by file name and SHA-256 (python-build-standalone's release asset). Downloaded once into .cache/ when the
network allows; where it does not, `build` stops before `docker build` and says what to put where. Render and lint
never need it.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from kit.errors import KitError
from kit.paths import CACHE_DIR as KIT_CACHE_DIR
from kit.progress import console

ARCHIVE = "cpython-3.11.10+20241016-x86_64-unknown-linux-gnu-install_only.tar.gz"
SHA256 = "8b50a442b04724a24c1eebb65a36a0c0e833d35374dbdf9c9470d8a97b164cd9"
URL = f"https://github.com/astral-sh/python-build-standalone/releases/download/20241016/{ARCHIVE}"
CACHE_DIR = KIT_CACHE_DIR / "standalone-python"
DOWNLOAD_TIMEOUT_S = 30


class StandalonePythonMissing(KitError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_archive(cache_dir: Path = CACHE_DIR) -> Path | None:
    """The cached archive when it is there and its checksum matches the pin."""
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
    """The verified archive, downloading it if needed; a clear error naming the file, place and checksum if not."""
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
            f"({error}). Fetch {url} on a machine with access and put it at {target} (SHA-256 {SHA256})."
        ) from None
    return target
