"""Host-side wheelhouse: pip downloads wheels here (the host trusts the proxy), builds install them offline."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from kit.errors import KitError
from kit.progress import Stopwatch, console

WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)-.*\.whl$")
STAMP = ".requirements.json"


@dataclass(frozen=True)
class WheelSet:
    """One pip download: requirements, whether their dependencies come too, and the target interpreter."""

    requirements: tuple[str, ...]
    python_version: str
    platforms: tuple[str, ...]
    with_dependencies: bool = True

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True, default=list).encode()).hexdigest()


class WheelhouseError(KitError):
    pass


def fill(directory: Path, wheels: WheelSet) -> list[Path]:
    """Download `wheels` into `directory` unless the same set is already there; return the wheel files."""
    stamp = directory / STAMP
    if stamp.exists() and stamp.read_text() == wheels.fingerprint() and any(directory.glob("*.whl")):
        return sorted(directory.glob("*.whl"))
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.whl"):
        old.unlink()
    watch = Stopwatch()
    console.print(f"{watch.stamp()} wheelhouse: downloading {' '.join(wheels.requirements)} into {directory}")
    command = [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
        "--dest", str(directory), "--only-binary=:all:",
        "--python-version", wheels.python_version, "--implementation", "cp",
        *[f"--platform={platform}" for platform in wheels.platforms],
        *([] if wheels.with_dependencies else ["--no-deps"]),
        *wheels.requirements,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise WheelhouseError(
            f"pip download for {directory} failed ({result.returncode}); check the pins and your PyPI access:\n"
            f"{result.stderr[-3000:]}"
        )
    stamp.write_text(wheels.fingerprint())
    files = sorted(directory.glob("*.whl"))
    console.print(f"{watch.stamp()} wheelhouse: {len(files)} wheels in {directory}")
    return files


def pinned_versions(wheel_files: list[Path]) -> dict[str, str]:
    """Distribution name -> version, read from wheel file names (normalised like pip)."""
    versions: dict[str, str] = {}
    for wheel in wheel_files:
        match = WHEEL_NAME.match(wheel.name)
        if match:
            versions[match["name"].lower().replace("_", "-")] = match["version"]
    return dict(sorted(versions.items()))
