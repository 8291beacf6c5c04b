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
CONSTRAINTS = ".constraints.txt"


@dataclass(frozen=True)
class WheelSet:
    """One pip download: requirements, whether their dependencies come too, and the target interpreter."""

    requirements: tuple[str, ...]
    python_version: str
    platforms: tuple[str, ...]
    with_dependencies: bool = True
    # Pins the resolution must keep (pip -c), e.g. the base's and the scoring runtime's own.
    constraints: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        # Without constraints the fingerprint is the one older wheelhouses were stamped with.
        fields = {key: value for key, value in self.__dict__.items() if key != "constraints" or value}
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=list).encode()).hexdigest()


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
    constraints = directory / CONSTRAINTS
    constraints.write_text("".join(f"{pin}\n" for pin in wheels.constraints))
    watch = Stopwatch()
    console.print(f"{watch.stamp()} wheelhouse: downloading {' '.join(wheels.requirements)} into {directory}")
    command = [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--progress-bar", "off",
        "--dest", str(directory), "--only-binary=:all:",
        "--python-version", wheels.python_version, "--implementation", "cp",
        *[f"--platform={platform}" for platform in wheels.platforms],
        *([] if wheels.with_dependencies else ["--no-deps"]),
        *(["--constraint", str(constraints)] if wheels.constraints else []),
        *wheels.requirements,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 and "ResolutionImpossible" in result.stderr and wheels.constraints:
        raise WheelhouseError(
            f"requirements: {' '.join(wheels.requirements)} conflict with a pin the image must keep (the base's and"
            f" the scoring runtime's, given to pip as constraints):\n{conflict_lines(result.stdout + result.stderr)}\n"
            "fix: choose versions of the requirements that work with those pins"
        )
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


def conflict_lines(pip_output: str) -> str:
    """pip's 'The conflict is caused by:' paragraph (both sides of the conflict), or its last lines."""
    lines = pip_output.splitlines()
    start = next((i for i, line in enumerate(lines) if "conflict is caused by" in line), None)
    if start is None:
        return "\n".join(lines[-15:])
    cause = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        cause.append("  " + line.strip())
    return "\n".join(cause)
