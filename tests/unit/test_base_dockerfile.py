"""The cpu base Dockerfile: rendered strictly, byte-stable, hadolint-clean for both root file systems."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import UndefinedError

from kit.base.cpu_base import render_dockerfile
from kit.base.rootfs import PULLED_ROOTFS, Rootfs, debootstrap_tag
from kit.context.lint import hadolint
from kit.context.templates import render

WHEELS = [
    Path("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
    Path("onnxruntime-1.32.0-cp311-cp311-manylinux_2_27_x86_64.whl"),
    Path("protobuf-6.33.0-cp39-abi3-manylinux2014_x86_64.whl"),
]
TRITON_WHEEL = "nvidia_pytriton-0.7.0-py3-none-manylinux_2_35_x86_64.whl"
ROOTFS_VARIANTS = {
    "debootstrap": Rootfs(debootstrap_tag(), needs_packages=False, origin="debootstrap"),
    "pulled-slim": Rootfs(PULLED_ROOTFS, needs_packages=True, origin="pulled"),
}


@pytest.mark.parametrize("variant", sorted(ROOTFS_VARIANTS))
def test_base_dockerfile_is_hadolint_clean(variant: str) -> None:
    result = hadolint(render_dockerfile(ROOTFS_VARIANTS[variant], TRITON_WHEEL, WHEELS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_really_lints() -> None:
    assert hadolint("FROM debian\nRUN apt-get install curl\n").returncode != 0


def test_render_is_byte_stable_and_pins_only_requested_wheels() -> None:
    rootfs = ROOTFS_VARIANTS["debootstrap"]
    first = render_dockerfile(rootfs, TRITON_WHEEL, WHEELS)
    assert first == render_dockerfile(rootfs, TRITON_WHEEL, WHEELS)
    assert "--target /site-packages numpy==1.26.4 onnxruntime==1.32.0 \\\n" in first
    assert 'io.triton-kit.wheels="numpy==1.26.4,onnxruntime==1.32.0,protobuf==6.33.0"' in first
    assert "apt-get" not in first


def test_pulled_rootfs_installs_the_interpreter() -> None:
    dockerfile = render_dockerfile(ROOTFS_VARIANTS["pulled-slim"], TRITON_WHEEL, WHEELS)
    assert f"FROM {PULLED_ROOTFS} AS system" in dockerfile
    assert "apt-get install -y --no-install-recommends python3 python3-pip libpython3.11" in dockerfile


def test_templates_reject_missing_values() -> None:
    with pytest.raises(UndefinedError):
        render("base/cpu.Dockerfile.j2")
