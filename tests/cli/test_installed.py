"""The installed command (issue 21): the wheel, copied out of the checkout and installed into a fresh virtual
environment, runs init, validate and build (with the smoke test) on an Azure ML project folder outside the
checkout, from a temporary directory with PYTHONPATH unset; nothing is written under site-packages."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from kit import PROJECT_ROOT
from tests.cli.aml_project import make_aml_project

pytestmark = pytest.mark.docker
NAME = "tk-installed-digits"  # distinct from the example images other tests build


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
         "-w", str(work / "dist"), str(PROJECT_ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (work / "dist").glob("triton_kit-*.whl")
    copied = shutil.copy(wheel, work / wheel.name)  # out of the checkout
    shutil.rmtree(work / "dist")
    environment = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True, timeout=120)
    subprocess.run(
        [str(environment / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(copied)],
        check=True, capture_output=True, timeout=600, env=clean_environment(work),
    )  # fmt: skip
    return environment


def clean_environment(home: Path, **extra: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**environment, "NO_COLOR": "1", "XDG_CACHE_HOME": str(home / "xdg-cache"), **extra}


def site_packages(venv: Path) -> Path:
    (path,) = (venv / "lib").glob("python3.*/site-packages")
    return path


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(path): (path.stat().st_size, path.stat().st_mtime_ns) for path in root.rglob("*") if path.is_file()}


def command(venv: Path, cwd: Path, *arguments: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "triton-kit"), "--json", "--progress", "plain", *arguments],
        capture_output=True, text=True, cwd=cwd, env=clean_environment(cwd, **extra), timeout=1200, check=False,
    )  # fmt: skip


def test_installed_paths_point_at_the_package_and_the_user_cache(venv: Path, tmp_path: Path) -> None:
    probe = "from kit import paths; print(paths.CHECKOUT, paths.TEMPLATES_DIR, paths.CACHE_DIR, paths.BUILD_DIR)"
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, cwd=tmp_path,
        env=clean_environment(tmp_path), check=True,
    )  # fmt: skip
    checkout, templates, cache, build = result.stdout.split()
    assert checkout == "None" and templates.startswith(str(site_packages(venv)))
    assert cache == str(tmp_path / "xdg-cache" / "triton-kit") and build == str(tmp_path / "build")
    module = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "kit", "--version"], capture_output=True, text=True, cwd=tmp_path,
        env=clean_environment(tmp_path), check=False,
    )  # fmt: skip
    assert module.returncode == 0 and module.stdout.startswith("triton-kit ")


def test_init_validate_and_build_an_azure_ml_project_with_the_installed_command(
    venv: Path, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    make_aml_project(tmp_path / NAME)
    before = snapshot(site_packages(venv))
    try:
        init = command(venv, tmp_path, "init", NAME)
        assert init.returncode == 0, init.stdout + init.stderr
        # What init leaves to the user: the expected answers of the samples it found.
        spec = tmp_path / NAME / "image.yaml"
        text = spec.read_text()
        text = text.replace('request_file: samples/zero.png\n    content_type: application/octet-stream\n'
                            '    expected_regex: "(?s).*"', 'request_file: samples/zero.png\n'
                            '    content_type: application/octet-stream\n    expected_text: "0 : zero"')  # fmt: skip
        assert "expected_text" in text
        spec.write_text(text)
        validate = command(venv, tmp_path, "validate", "--offline", NAME, DOCKER_HOST="unix:///nonexistent.sock")
        assert validate.returncode == 0, validate.stdout + validate.stderr
        # The build's caches: the documented override, here the checkout's (so the test does not download the base).
        build = command(venv, tmp_path, "build", NAME, BASE="cpu", TRITON_KIT_CACHE=str(PROJECT_ROOT / ".cache"))
        assert build.returncode == 0, build.stdout + build.stderr[-4000:]
        (image,) = json.loads(build.stdout)["images"]
        assert image["result"] == "tested" and image["samples"] == {"passed": 2, "total": 2}
        for dropped in ("azureml-defaults", "nvidia-pyindex"):
            assert len(re.findall(f"dropped requirement {dropped} ", build.stderr)) == 1
        app = tmp_path / "build" / NAME / "app"  # ./build beside the folder
        assert (app / "score.py").is_file()
        assert not any((app / name).exists() for name in ("venv", "notebooks", "train.log"))  # .amlignore
    finally:
        for tag in (f"{NAME}:1.0.0", f"{NAME}:unversioned"):
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.remove(tag)
    assert snapshot(site_packages(venv)) == before, "something was written under site-packages"


def test_the_installed_validate_checks_settings_with_the_packaged_runtime(venv: Path, tmp_path: Path) -> None:
    folder = make_aml_project(tmp_path / "project")
    assert command(venv, tmp_path, "init", "project").returncode == 0
    with (folder / "image.yaml").open("a") as spec:
        spec.write("environment:\n  WORKER_COUNT: -3\n")
    result = command(venv, tmp_path, "validate", "--offline", "project", DOCKER_HOST="unix:///nonexistent.sock")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "WORKER_COUNT=-3 must be >= 1" in json.loads(result.stdout)["error"]
