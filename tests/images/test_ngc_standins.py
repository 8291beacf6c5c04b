"""The NGC profiles on their stand-ins, through the real `build.py build` path: aml-digits (JSON and raw-bytes
samples) on ngc-20.09 with the user's own CPython (STANDALONE_PYTHON), mlp-classifier on ngc-24.12."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import docker
import pytest
import yaml

from kit import PROJECT_ROOT
from kit.release.record import record_path
from kit.spec.bases import PROFILES
from tests.support.relocatable_python import make_archive
from tests.support.standins import STANDIN_DIR, STANDINS, build_standin

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def own_cpython() -> dict[str, str]:
    archive, digest = make_archive("3.11", STANDIN_DIR / "python")
    return {"STANDALONE_PYTHON": str(archive), "STANDALONE_PYTHON_SHA256": digest}


def on_standin(example: str, profile: str, tag: str, target: Path) -> Path:
    folder = target / example
    shutil.copytree(PROJECT_ROOT / "images" / example, folder)
    spec = yaml.safe_load((folder / "image.yaml").read_text())
    spec["name"] = f"{example}-on-{profile.replace('.', '-')}"  # never the example's own tags and record
    spec["base"] = {"profile": profile, "image": tag}
    (folder / "image.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return folder


def build(folder: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **extra_env}
    command = [sys.executable, "build.py", "build", str(folder)]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


def run_in(docker_client: docker.DockerClient, image: str, *command: str) -> tuple[int, str]:
    container = docker_client.containers.run(image, list(command[1:]), entrypoint=command[0], network_mode="none",
                                             detach=True)  # fmt: skip
    try:
        code = container.wait(timeout=60)["StatusCode"]
        return code, container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


def test_ngc_20_09_standin_serves_aml_digits_with_the_users_own_cpython(
    docker_client: docker.DockerClient, tmp_path: Path, own_cpython: dict[str, str]
) -> None:
    tag = build_standin(docker_client, "ngc-20.09")
    standin = docker_client.images.get(tag)
    assert not tag.startswith("nvcr.io/") and standin.labels["io.triton-kit.standin-for"].startswith("nvcr.io/")
    # The stand-in's tritonserver is Triton 2.3.0's command line: the loopback options of 2022+ are refused.
    code, output = run_in(docker_client, tag, "tritonserver", "--http-address=127.0.0.1", "--model-repository=/x")
    assert code == 1 and "unrecognized option '--http-address'" in output and "Usage: tritonserver" in output

    result = build(on_standin("aml-digits", "ngc-20.09", tag, tmp_path), own_cpython)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    first_lines = output.splitlines()[:8]
    assert any(line.startswith(f"base: {tag} = sha256:") and "Triton 2.3.0" in line for line in first_lines), (
        first_lines
    )
    assert "the base has 2.27" in output and "5/5" in output

    dockerfile = (PROJECT_ROOT / "build" / "aml-digits-on-ngc-20-09" / "Dockerfile").read_text()
    assert f"FROM {standin.id} AS scoring-packages" in dockerfile and "--require-hashes" in dockerfile
    record = json.loads(record_path("aml-digits-on-ngc-20-09").read_text())
    assert record["base"] == standin.id and record["format"] == 2
    image = record["image_id"]
    # The image's environment leaves the base's own python3 (3.6 here) working: PYTHONPATH is not set image-wide
    # for a standalone scoring Python, which finds its packages through a .pth of its own.
    code, output = run_in(docker_client, image, "python3", "-c", "import sys, json; print(sys.version_info[:2])")
    assert code == 0 and output.strip() == "(3, 6)", output
    code, output = run_in(docker_client, image, "/opt/scoring/python/bin/python3", "-c", "import scoring.app, gevent")
    assert code == 0, output


def test_ngc_24_12_standin_serves_mlp_classifier(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    tag = build_standin(docker_client, "ngc-24.12")
    result = build(on_standin("mlp-classifier", "ngc-24.12", tag, tmp_path), {})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Triton 2.53.0" in output and "1/1" in output
    image = json.loads(record_path("mlp-classifier-on-ngc-24-12").read_text())["image_id"]
    code, output = run_in(docker_client, image, "python3", "-c", "import sys, gevent; print(sys.version_info[:2])")
    assert code == 0 and output.strip() == "(3, 12)", output


def test_a_base_of_another_release_is_refused_before_any_build(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    tag = build_standin(docker_client, "ngc-20.09")
    result = build(on_standin("mlp-classifier", "ngc-24.12", tag, tmp_path), {})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "carries Triton 2.3.0, but the ngc-24.12 profile is Triton 2.53.0" in output
    assert "step 1/" not in output  # nothing was built


def test_standins_are_named_for_their_profiles() -> None:
    assert set(STANDINS) == {"ngc-20.09", "ngc-24.12"}


@pytest.mark.parametrize("profile", ["ngc-20.09", "ngc-24.12"])
def test_render_for_an_ngc_profile_needs_no_ngc_image(profile: str, tmp_path: Path) -> None:
    folder = tmp_path / "render-check"
    shutil.copytree(PROJECT_ROOT / "images" / "mlp-classifier", folder)
    spec = yaml.safe_load((folder / "image.yaml").read_text())
    (folder / "image.yaml").write_text(yaml.safe_dump({**spec, "name": "render-check"}, sort_keys=False))
    command = [sys.executable, "build.py", "--json", "--base", profile, "render", str(folder)]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    context = Path(json.loads(result.stdout)["contexts"]["render-check"])
    dockerfile = (context / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile and f"FROM {PROFILES[profile].image} AS scoring-packages" in dockerfile
