"""A real tritonserver on the host, laid out from the same wheels as the cpu base (for runtime tests, no Docker)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from kit import PROJECT_ROOT
from kit.base.cpu_base import (
    BACKEND_SOURCE,
    BACKEND_WHEELS,
    TRITON_EXECUTABLES,
    TRITON_WHEEL,
    WHEELHOUSE,
    triton_wheel_layout,
)
from kit.context.templates import render
from kit.context.wheelhouse import fill
from kit.errors import KitError
from kit.spec.bases import CPU

HOST_ROOT = PROJECT_ROOT / ".cache" / "triton-host"
# Per checkout (build/ is never shared): this checkout's ORT backend and launcher, next to the shared unpacked wheel.
CHECKOUT_ROOT = PROJECT_ROOT / "build" / "triton-host"
LIBPYTHON = Path(f"/usr/lib/x86_64-linux-gnu/libpython{CPU.python_version}.so.1.0")


def unpack_triton(wheel: Path, root: Path) -> None:
    staging = root.with_name(root.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(staging / "wheel")
    target = staging / "opt"
    target.mkdir(parents=True)
    for source, destination in triton_wheel_layout(CPU.python_version):  # the same layout as the cpu base
        shutil.move(str(staging / "wheel" / source), str(target / destination))
    for executable in TRITON_EXECUTABLES:
        (target / executable).chmod(0o755)
    shutil.rmtree(root, ignore_errors=True)
    shutil.move(str(target), str(root))
    shutil.rmtree(staging)


def install_backend_packages(wheels: list[Path], site_packages: Path) -> None:
    pins = [requirement for requirement in BACKEND_WHEELS.requirements]
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
               "--find-links", str(wheels[0].parent), "--target", str(site_packages), *pins]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KitError(f"installing {pins} for the host tritonserver failed:\n{result.stderr[-2000:]}")


def ensure_host_triton(root: Path = HOST_ROOT) -> Path:
    """Path of an executable that runs tritonserver on this host with the cpu base's backends and packages."""
    if not LIBPYTHON.exists():
        raise KitError(f"{LIBPYTHON} is missing (the python backend stub links it): apt-get install libpython3.11")
    (triton_wheel,) = fill(WHEELHOUSE / "triton", TRITON_WHEEL)
    backend_wheels = fill(WHEELHOUSE / "backend", BACKEND_WHEELS)
    stamp = root / ".source"
    source_id = f"{triton_wheel.name} {' '.join(wheel.name for wheel in backend_wheels)}"
    triton_root, site_packages = root / "opt", root / "site-packages"
    if not stamp.exists() or stamp.read_text() != source_id:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        unpack_triton(triton_wheel, triton_root)
        install_backend_packages(backend_wheels, site_packages)
        stamp.write_text(source_id)
    return write_launcher(triton_root, site_packages)


def write_launcher(triton_root: Path, site_packages: Path, checkout_root: Path = CHECKOUT_ROOT) -> Path:
    """A backend directory of this checkout: the shared backends linked, the working copy of the ORT backend."""
    backends = checkout_root / "backends"
    backends.mkdir(parents=True, exist_ok=True)
    for entry in (triton_root / "backends").iterdir():
        link = backends / entry.name
        if entry.name != "onnxruntime" and not link.exists():
            link.symlink_to(entry)
    (backends / "onnxruntime").mkdir(exist_ok=True)
    shutil.copy2(BACKEND_SOURCE, backends / "onnxruntime" / "model.py")  # always the working copy
    launcher = checkout_root / "tritonserver"
    launcher.write_text(
        render("host/tritonserver.sh.j2", root=triton_root, site_packages=site_packages, backends=backends)
    )
    launcher.chmod(0o755)
    return launcher


def scoring_python() -> str:
    """The interpreter that runs the scoring runtime in the runtime tiers: SCORING_PYTHON (a virtual environment made
    from one base profile's lock, tests/locks/) or this one."""
    return os.environ.get("SCORING_PYTHON") or sys.executable
