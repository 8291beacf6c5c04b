"""`make base`: render and build the embedded cpu base (Triton from the nvidia-pytriton wheel + ORT backend)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from kit import __version__
from kit.base.rootfs import PACKAGES, Rootfs, ensure_rootfs
from kit.context.files import link_or_copy
from kit.context.templates import render
from kit.context.wheelhouse import WheelSet, fill, pinned_versions
from kit.docker import sdk
from kit.docker.build import BuildResult, build_image
from kit.paths import BACKENDS_DIR, BUILD_DIR, CACHE_DIR
from kit.progress import console
from kit.spec.bases import CPU, CPU_NUMPY_PIN

TRITON_WHEEL = WheelSet(("nvidia-pytriton==0.7.0",), CPU.python_version, CPU.wheel_platforms, with_dependencies=False)
# What the python-based onnxruntime backend imports inside the base.
BACKEND_WHEELS = WheelSet((CPU_NUMPY_PIN, "onnxruntime==1.32.0"), CPU.python_version, CPU.wheel_platforms)
WHEELHOUSE = CACHE_DIR / "wheelhouse" / "base-cpu"
CONTEXT_DIR = BUILD_DIR / "base-cpu"
BACKEND_SOURCE = BACKENDS_DIR / "onnxruntime" / "model.py"


@dataclass(frozen=True)
class BaseContext:
    rootfs: Rootfs
    triton_wheel: Path
    backend_wheels: list[Path]


def triton_wheel_layout(python_version: str) -> tuple[tuple[str, str], ...]:
    """Where the nvidia-pytriton wheel's Triton goes so it looks like NGC's /opt/tritonserver: (path in the wheel,
    path under the Triton root), in order. The base template and the runtime tests' host tritonserver both use it."""
    server = "pytriton/tritonserver"
    return (
        (f"{server}/bin", "bin"),
        (f"{server}/backends", "backends"),
        (f"{server}/caches", "caches"),
        ("nvidia_pytriton.libs", "lib"),
        (f"{server}/python_backend_stubs/{python_version}/triton_python_backend_stub", TRITON_EXECUTABLES[1]),
    )


# Paths under the Triton root that must be executable (zip archives do not keep the mode).
TRITON_EXECUTABLES = ("bin/tritonserver", "backends/python/triton_python_backend_stub")


def render_dockerfile(rootfs: Rootfs, triton_wheel: str, backend_wheels: list[Path]) -> str:
    requested = {requirement.split("==")[0] for requirement in BACKEND_WHEELS.requirements}
    versions = pinned_versions(backend_wheels)
    return render(
        "base/cpu.Dockerfile.j2",
        rootfs_image=rootfs.image,
        rootfs_needs_packages=rootfs.needs_packages,
        system_packages=PACKAGES,
        python_version=CPU.python_version,
        triton_version=CPU.triton_version,
        os_release=CPU.os_release,
        kit_version=__version__,
        triton_wheel=triton_wheel,
        triton_layout=triton_wheel_layout(CPU.python_version),
        triton_executables=TRITON_EXECUTABLES,
        backend_pins={name: version for name, version in versions.items() if name in requested},
        wheel_versions=versions,
    )


def write_context(context: BaseContext, directory: Path = CONTEXT_DIR) -> Path:
    """Lay out build/base-cpu/ (inspectable): Dockerfile, .dockerignore, wheels and the backend source."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    link_or_copy(context.triton_wheel, directory / "triton-wheel" / context.triton_wheel.name)
    for wheel in context.backend_wheels:
        link_or_copy(wheel, directory / "wheels" / wheel.name)
    link_or_copy(BACKEND_SOURCE, directory / "backends" / "onnxruntime" / "model.py")
    dockerfile = render_dockerfile(context.rootfs, context.triton_wheel.name, context.backend_wheels)
    (directory / "Dockerfile").write_text(dockerfile)
    (directory / ".dockerignore").write_text(render("base/cpu.dockerignore.j2"))
    return directory


def prepare_context(docker_client: sdk.DockerClient) -> BaseContext:
    rootfs = ensure_rootfs(docker_client)
    console.print(f"base-cpu: root file system {rootfs.image} ({rootfs.origin})")
    (triton_wheel,) = fill(WHEELHOUSE / "triton", TRITON_WHEEL)
    backend_wheels = fill(WHEELHOUSE / "backend", BACKEND_WHEELS)
    return BaseContext(rootfs, triton_wheel, backend_wheels)


def build_cpu_base(docker_client: sdk.DockerClient) -> BuildResult:
    context = prepare_context(docker_client)
    directory = write_context(context)
    return build_image(docker_client, directory, [CPU.image], label="base-cpu")
