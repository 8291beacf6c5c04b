"""Every base profile's hashed lock: current with its inputs, fit for the base's C library, resolvable from PyPI as
it stands, and running the scoring runtime's supervisor, app and hostile-client tests."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from kit import PROJECT_ROOT
from kit.context.locks import drift, lock_path, pip_report, read_lock, target_options
from kit.spec.bases import NGC_20_09, PROFILES, BaseProfile
from tests.support.relocatable_python import pyenv_python

PROFILE_IDS = list(PROFILES)
MANYLINUX_ALIASES = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
# The runtime tests each locked set must pass: the supervisor, the app's routes and the hostile-client protocol.
RUNTIME_TESTS = ("tests/runtime/test_supervisor.py", "tests/runtime/test_routes.py", "tests/hostile/test_protocol.py")
LOCK_VENVS = PROJECT_ROOT / ".cache" / "lock-venvs"


def glibc_of(platform: str) -> tuple[int, int] | None:
    """The glibc a wheel platform tag needs; None for pure wheels."""
    if platform == "any":
        return None
    match = re.match(r"manylinux_(\d+)_(\d+)_", platform)
    if match:
        return int(match[1]), int(match[2])
    return MANYLINUX_ALIASES[platform.split("_x86_64")[0]]


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILE_IDS)
def test_lock_is_current_with_its_inputs(profile: BaseProfile) -> None:
    assert drift(profile) == [], "run `make lock`"


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILE_IDS)
def test_every_locked_wheel_fits_the_base(profile: BaseProfile) -> None:
    ceiling = tuple(int(part) for part in profile.glibc.split("."))
    python_tag = "cp" + profile.scoring_python_version.replace(".", "")
    for wheel in read_lock(profile):
        tags = parse_wheel_filename(wheel.filename)[3]
        fitting = [
            tag for tag in tags
            if tag.interpreter in (python_tag, "py3", "py2.py3") or tag.interpreter.startswith("py3")
            if glibc_of(tag.platform) is None or glibc_of(tag.platform) <= ceiling
        ]  # fmt: skip
        assert fitting, f"{wheel.filename} has no tag for {python_tag} on glibc {profile.glibc}"


def test_ngc_20_09_platform_tags_stop_at_manylinux_2_27() -> None:
    assert NGC_20_09.glibc == "2.27"
    assert all(glibc_of(platform) <= (2, 27) for platform in NGC_20_09.wheel_platforms)


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILE_IDS)
def test_lock_resolves_from_pypi_as_it_stands(profile: BaseProfile) -> None:
    """pip, given the lock alone with dependencies on, resolves exactly the locked files: nothing missing, no other
    version, every hash as PyPI serves it."""
    locked = {(wheel.name, wheel.version, wheel.sha256) for wheel in read_lock(profile)}
    resolved = pip_report(profile, ["--require-hashes", "-r", str(lock_path(profile))])
    assert {(wheel.name, wheel.version, wheel.sha256) for wheel in resolved} == locked


def lock_venv(profile: BaseProfile) -> Path:
    """A virtual environment holding exactly the profile's lock (installed with --require-hashes), made once per lock
    content, on a CPython of the profile's scoring version (pyenv's when it is not this one)."""
    digest = hashlib.sha256(lock_path(profile).read_bytes()).hexdigest()[:12]
    target = LOCK_VENVS / f"{profile.name}-{digest}"
    python, complete = target / "bin" / "python", target / ".complete"
    if complete.exists():
        return python
    shutil.rmtree(target, ignore_errors=True)
    version = profile.scoring_python_version
    if sysconfig.get_python_version() == version:
        venv.create(target, with_pip=True, symlinks=True)
    else:
        interpreter = pyenv_python(version) / "bin" / f"python{version}"
        subprocess.run([str(interpreter), "-m", "venv", str(target)], check=True)
    install = [
        str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--require-hashes", "--only-binary=:all:", "-r", str(lock_path(profile)),
    ]  # fmt: skip
    subprocess.run(install, check=True, capture_output=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "triton-kit-checkout.pth").write_text(f"{PROJECT_ROOT}\n")  # the scoring package itself
    complete.touch()
    return python


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILE_IDS)
def test_runtime_tests_pass_on_the_locked_set(profile: BaseProfile) -> None:
    python = lock_venv(profile)
    probe = "import json, gevent, gunicorn, sys; print(json.dumps([sys.version_info[:2], gevent.__version__]))"
    versions = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True).stdout
    locked = {wheel.name: wheel.version for wheel in read_lock(profile)}
    assert json.loads(versions) == [[int(part) for part in profile.scoring_python_version.split(".")], locked["gevent"]]
    env = {**os.environ, "SCORING_PYTHON": str(python)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *RUNTIME_TESTS]
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def test_target_options_name_the_profile_interpreter() -> None:
    options = target_options(NGC_20_09)
    assert "--python-version" in options and "--platform=manylinux_2_27_x86_64" in options
