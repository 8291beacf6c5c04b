"""build.py conventions: --json prints one document on stdout (logs on stderr), exit codes per stage, init."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from kit import PROJECT_ROOT
from kit.errors import ExitCode
from kit.spec.image import load_spec

MODEL = PROJECT_ROOT / "images" / "mlp-classifier" / "triton" / "mlp" / "1" / "model.onnx"


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "build.py"), *arguments],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=environment, timeout=120, check=False,
    )  # fmt: skip


def test_json_list_prints_only_the_document_on_stdout() -> None:
    result = cli("--json", "list")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["command"] == "list" and document["exit_code"] == 0
    assert "mlp-classifier" in document["images"]
    assert "mlp-classifier" in result.stderr  # the human log went to stderr


def test_init_scaffolds_a_valid_image_with_a_computed_sample(tmp_path: Path) -> None:
    folder = tmp_path / "My Model"
    result = cli("--json", "--progress", "plain", "init", str(folder), "--model", str(MODEL))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["folder"] == str(folder)
    assert "\x1b[" not in result.stderr  # plain progress: no terminal control codes
    spec = load_spec(folder)  # valid as written
    assert spec.name == "my-model" and (folder / "triton" / "mlp" / "1" / "model.onnx").is_file()
    request = json.loads((folder / "samples" / "request.json").read_text())["inputs"]
    expected = json.loads((folder / "samples" / "expected.json").read_text())
    assert list(request) == ["x"] and len(request["x"]) == 2 and len(request["x"][0]) == 8
    assert set(expected) == {"logits", "probabilities"} and len(expected["probabilities"]) == 2
    rows = expected["probabilities"]
    assert all(abs(sum(row) - 1.0) < 1e-4 for row in rows)  # softmax outputs really computed by onnxruntime


def test_init_refuses_a_non_empty_folder_and_a_missing_model(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    taken = cli("--json", "init", str(tmp_path / "taken"), "--model", str(MODEL))
    assert taken.returncode == ExitCode.VALIDATION
    assert "exists and is not empty" in json.loads(taken.stdout)["error"]
    missing = cli("init", str(tmp_path / "new"), "--model", str(tmp_path / "nope.onnx"))
    assert missing.returncode == ExitCode.VALIDATION and "not an .onnx file" in missing.stdout
    assert not (tmp_path / "new").exists()


def test_validation_errors_exit_with_the_validation_code(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "image.yaml").write_text(yaml.safe_dump({"name": "Broken Name", "version": "1"}))
    result = cli("--json", "render", str(folder))
    assert result.returncode == ExitCode.VALIDATION, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["exit_code"] == ExitCode.VALIDATION and "image.yaml" in document["error"]


def test_usage_mistakes_have_their_own_code_and_one_json_document() -> None:
    result = cli("--json", "no-such-verb")
    assert result.returncode == ExitCode.USAGE
    document = json.loads(result.stdout)
    assert document["exit_code"] == ExitCode.USAGE and "invalid choice" in document["error"]
    assert "Traceback" not in result.stderr


def test_version_is_printed() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("triton-kit ")
