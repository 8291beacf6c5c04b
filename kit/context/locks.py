"""Hashed locks of the in-image scoring runtime, one per base profile (`make lock` writes them, images install them).

Each lock is resolved by pip from kit/context/locks/scoring.in for the profile's CPython version and wheel platform
tags (uv has no manylinux_2_27 target, pip takes any tag), with the SHA-256 of the one wheel chosen per package. Its
header records what it was resolved from, so a changed input or profile without `make lock` is caught as drift.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from kit.context.files import sha256_of
from kit.errors import KitError
from kit.progress import Stopwatch, console
from kit.spec.bases import PROFILES, BaseProfile

LOCKS_DIR = Path(__file__).resolve().parent / "locks"
INPUTS = LOCKS_DIR / "scoring.in"
INPUTS_LINE = "# inputs: "


class LockError(KitError):
    pass


@dataclass(frozen=True)
class LockedWheel:
    name: str
    version: str
    filename: str
    sha256: str

    def requirement_line(self) -> str:
        return f"{self.name}=={self.version} \\\n    --hash=sha256:{self.sha256}\n"


def lock_path(profile: BaseProfile) -> Path:
    return LOCKS_DIR / f"{profile.name}.txt"


def inputs_digest(profile: BaseProfile) -> str:
    """What a lock depends on: the input ranges and the profile's interpreter and platform tags."""
    basis = {
        "inputs": input_requirements(),
        "python": profile.scoring_python_version,
        "platforms": list(profile.wheel_platforms),
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def input_requirements() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in INPUTS.read_text().splitlines())
    return [line for line in lines if line]


def target_options(profile: BaseProfile) -> list[str]:
    return [
        "--only-binary=:all:", "--python-version", profile.scoring_python_version, "--implementation", "cp",
        *[f"--platform={platform}" for platform in profile.wheel_platforms],
    ]  # fmt: skip


def pip_report(profile: BaseProfile, requirements: list[str], *, with_dependencies: bool = True) -> list[LockedWheel]:
    """What pip would install for the profile's interpreter and platform, with each wheel's hash (nothing installed)."""
    with tempfile.TemporaryDirectory(prefix="triton-kit-lock-") as scratch:
        report = Path(scratch) / "report.json"
        command = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
            "--disable-pip-version-check", "--report", str(report), "--target", str(Path(scratch) / "target"),
            *target_options(profile), *([] if with_dependencies else ["--no-deps"]), *requirements,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LockError(f"{profile.name}: pip could not resolve {' '.join(requirements)}:\n{result.stderr[-2000:]}")
        installs = json.loads(report.read_text())["install"]
    wheels = []
    for item in installs:
        info = item["download_info"]
        wheels.append(
            LockedWheel(
                name=canonicalize_name(item["metadata"]["name"]),
                version=item["metadata"]["version"],
                filename=info["url"].rsplit("/", 1)[1],
                sha256=info["archive_info"]["hashes"]["sha256"],
            )
        )
    return sorted(wheels, key=lambda wheel: wheel.name)


def write_lock(profile: BaseProfile) -> Path:
    wheels = pip_report(profile, input_requirements())
    header = (
        f"# The scoring runtime for the {profile.name} base (CPython {profile.scoring_python_version},"
        f" {', '.join(profile.wheel_platforms)}).\n"
        "# Written by `make lock` from kit/context/locks/scoring.in; do not edit.\n"
        f"{INPUTS_LINE}{inputs_digest(profile)}\n"
    )
    files = "".join(f"# {wheel.filename}\n" for wheel in wheels)
    path = lock_path(profile)
    path.write_text(header + files + "".join(wheel.requirement_line() for wheel in wheels))
    return path


def read_lock(profile: BaseProfile) -> list[LockedWheel]:
    """The lock's wheels: name, version, file name and hash."""
    path = lock_path(profile)
    if not path.is_file():
        raise LockError(f"{path}: no lock for the {profile.name} base; run `make lock`")
    text = path.read_text()
    files = [line[2:].strip() for line in text.splitlines() if line.startswith("# ") and line.endswith(".whl")]
    entries = [entry for entry in text.replace("\\\n", " ").splitlines() if entry and not entry.startswith("#")]
    wheels = []
    for entry, filename in zip(entries, files, strict=True):
        pin, _, digest = entry.partition("--hash=sha256:")
        name, _, version = pin.strip().partition("==")
        wheels.append(LockedWheel(canonicalize_name(name), version, filename, digest.strip()))
    return wheels


def download_locked(directory: Path, profile: BaseProfile, wheels: list[LockedWheel]) -> list[Path]:
    """The locked wheels in `directory`, downloaded by pip with --require-hashes unless already there and intact."""
    files = [directory / wheel.filename for wheel in wheels]
    if all(path.is_file() and sha256_of(path) == wheel.sha256 for path, wheel in zip(files, wheels, strict=True)):
        return files
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.whl"):
        old.unlink()
    requirements = directory / "requirements.lock"
    requirements.write_text("".join(wheel.requirement_line() for wheel in wheels))
    watch = Stopwatch()
    console.print(
        f"{watch.stamp()} wheelhouse: downloading the {profile.name} lock ({len(wheels)} wheels) into {directory}"
    )
    command = [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--progress-bar", "off", "--no-deps",
        "--require-hashes", "--dest", str(directory), *target_options(profile), "-r", str(requirements),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LockError(
            f"pip download of {lock_path(profile)} failed ({result.returncode}); check your PyPI access (a hash"
            f" mismatch means the index serves other files than the lock names):\n{result.stderr[-3000:]}"
        )
    missing = [path.name for path in files if not path.is_file()]
    if missing:
        raise LockError(f"{lock_path(profile)}: pip did not download {', '.join(missing)}")
    return files


def hashed_requirements(wheel_files: list[Path] | tuple[Path, ...]) -> str:
    """A --require-hashes requirements file naming exactly these wheel files (for the build context)."""
    lines = []
    for path in sorted(wheel_files, key=lambda item: item.name):
        name, version = path.name.split("-")[:2]
        lines.append(LockedWheel(canonicalize_name(name), version, path.name, sha256_of(path)).requirement_line())
    return "".join(lines)


def drift(profile: BaseProfile) -> list[str]:
    """Why the lock no longer matches its inputs (empty when it does): a changed input or profile, or a pin outside
    its input's range."""
    path = lock_path(profile)
    if not path.is_file():
        return [f"{path} is missing"]
    recorded = next(
        (line[len(INPUTS_LINE) :] for line in path.read_text().splitlines() if line.startswith(INPUTS_LINE)), ""
    )
    problems = []
    if recorded.strip() != inputs_digest(profile):
        problems.append(f"{path} was resolved from other inputs (scoring.in or the {profile.name} profile changed)")
    pinned = {wheel.name: wheel.version for wheel in read_lock(profile)}
    for text in input_requirements():
        requirement = Requirement(text)
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{path}: {requirement.name} {version or 'missing'} does not meet {text}")
    return problems


def main() -> None:
    for profile in PROFILES.values():
        path = write_lock(profile)
        print(f"lock: {profile.name}: {len(read_lock(profile))} wheels in {path}")


if __name__ == "__main__":
    main()
