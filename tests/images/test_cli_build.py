"""`build.py init` -> `build.py --json build` -> smoke test, through the real CLI and a real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from kit import PROJECT_ROOT
from kit.errors import ExitCode

pytestmark = pytest.mark.docker
MODEL = PROJECT_ROOT / "images" / "digits-onnx" / "triton" / "digits" / "1" / "model.onnx"


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "BASE": "cpu", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "build.py", "--json", "--progress", "plain", *arguments],
        cwd=PROJECT_ROOT, capture_output=True, text=True, env=environment, timeout=900, check=False,
    )  # fmt: skip


def test_scaffolded_image_builds_and_passes_its_smoke_test(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    folder = tmp_path / "scaffolded-digits"
    created = cli("init", str(folder), "--model", str(MODEL))
    assert created.returncode == 0, created.stderr
    built = cli("build", str(folder))
    assert built.returncode == ExitCode.OK, built.stderr[-3000:]
    (image,) = json.loads(built.stdout)["images"]
    assert image["result"] == "tested" and image["samples"] == {"passed": 1, "total": 1}
    assert image["name"] == "scaffolded-digits" and "scaffolded-digits:0.1.0" in image["tags"]
    assert docker_client.images.get("scaffolded-digits:0.1.0").id == image["image_id"]
    assert "step" in built.stderr and "\x1b[" not in built.stderr  # logs on stderr, plain


def test_a_failing_smoke_test_exits_with_its_stage_code(tmp_path: Path) -> None:
    folder = tmp_path / "scaffolded-wrong"
    assert cli("init", str(folder), "--model", str(MODEL)).returncode == 0
    expected = folder / "samples" / "expected.json"
    answer = json.loads(expected.read_text())
    first = next(iter(answer))
    answer[first][0][0] += 1.0  # the image answers right; the expectation is now wrong
    expected.write_text(json.dumps(answer))
    built = cli("build", str(folder))
    assert built.returncode == ExitCode.SMOKE_TEST, built.stderr[-3000:]
    (image,) = json.loads(built.stdout)["images"]
    assert image["result"] == "failed" and image["exit_code"] == ExitCode.SMOKE_TEST and image["tags"] == []
