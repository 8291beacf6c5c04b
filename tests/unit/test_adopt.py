"""`init FOLDER` adopts an Azure ML project as it is: image.yaml beside the user's files, never over one, models
named after their folders, requirements.txt used as it is (the tutorial's extra packages dropped and named)."""

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
from kit.validation import validate_folders
from tests.cli.aml_project import make_aml_project


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "NO_COLOR": "1", "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "build.py"), *arguments],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=environment, timeout=120, check=False,
    )  # fmt: skip


def test_init_adopts_an_azure_ml_project_and_it_validates(tmp_path: Path) -> None:
    folder = make_aml_project(tmp_path / "Digits Project")
    before = sorted(path.name for path in folder.iterdir())
    result = cli("--json", "init", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert sorted(path.name for path in folder.iterdir()) == sorted([*before, "image.yaml"])
    inferred = "\n".join(document["inferred"])
    assert "entry_script: score.py" in inferred and "models: models (registered as models)" in inferred
    assert "Triton model repository: models/triton" in inferred
    assert "requirements: requirements.txt (dropped: azureml-defaults, nvidia-pyindex)" in inferred
    assert ".amlignore: honoured" in inferred and "samples: samples/seven.jpg, samples/zero.png" in inferred
    assert any("expected answer" in line for line in document["to_fill_in"])
    data = yaml.safe_load((folder / "image.yaml").read_text())
    assert data["name"] == "digits-project" and data["schema_version"] == 1
    assert data["models"] == [{"path": "models"}] and data["requirements"] == "requirements.txt"
    spec = load_spec(folder)
    assert spec.dropped_requirements == ("azureml-defaults", "nvidia-pyindex")
    assert "tritonclient[http]" in spec.requirements and "pillow==12.3.0" in spec.requirements
    validate_folders([folder], "auto")  # the ignored venv/ symlink to /usr/bin/python3 is not an error


def test_init_never_overwrites(tmp_path: Path) -> None:
    folder = make_aml_project(tmp_path / "project")
    (folder / "image.yaml").write_text("mine: true\n")
    result = cli("--json", "init", str(folder))
    assert result.returncode == ExitCode.VALIDATION
    assert "exists; init never overwrites a file" in json.loads(result.stdout)["error"]
    assert (folder / "image.yaml").read_text() == "mine: true\n"
    onto_file = cli("--json", "init", str(folder / "score.py"))
    assert onto_file.returncode == ExitCode.VALIDATION and "is a file" in json.loads(onto_file.stdout)["error"]


def test_init_refuses_a_bad_name(tmp_path: Path) -> None:
    folder = make_aml_project(tmp_path / "project")
    result = cli("--json", "init", str(folder), "--name", "Bad Name/../x")
    assert result.returncode == ExitCode.VALIDATION and "a Docker repository name" in json.loads(result.stdout)["error"]
    assert not (folder / "image.yaml").exists()


def test_a_project_without_samples_is_told_what_to_fill_in(tmp_path: Path) -> None:
    folder = make_aml_project(tmp_path / "project")
    for path in (folder / "samples").iterdir():
        path.unlink()
    result = cli("--json", "init", str(folder))
    assert result.returncode == 0
    assert any(line.startswith("samples: at least one request") for line in json.loads(result.stdout)["to_fill_in"])
    validate = cli("--json", "validate", "--offline", str(folder))
    assert validate.returncode == ExitCode.VALIDATION and "samples: Field required; fix: add it" in validate.stdout


def test_models_under_models_are_named_after_their_folders(tmp_path: Path) -> None:
    folder = make_aml_project(tmp_path / "project")
    (folder / "models").rename(tmp_path / "triton-model")
    (folder / "models").mkdir()
    (tmp_path / "triton-model").rename(folder / "models" / "digits-model")
    (folder / "models" / "tokenizer").mkdir()
    (folder / "models" / "tokenizer" / "vocab.txt").write_text("a\n")
    result = cli("--json", "init", str(folder))
    assert result.returncode == 0, result.stdout
    data = yaml.safe_load((folder / "image.yaml").read_text())
    assert data["models"] == [{"path": "models/digits-model"}, {"path": "models/tokenizer"}]


def test_requirements_file_lines_and_dropped_packages_are_named_once(tmp_path: Path) -> None:
    folder = make_aml_project(tmp_path / "project")
    (folder / "requirements.txt").write_text("azureml-defaults\nazureml_defaults==1.0\n--index-url https://x\n")
    cli("init", str(folder))
    found = cli("--json", "validate", "--offline", str(folder))
    assert "requirements: requirements.txt line 3: pip option '--index-url https://x' is not supported" in found.stdout


def test_odd_file_names_are_written_as_valid_yaml(tmp_path: Path) -> None:
    folder = make_aml_project(tmp_path / "project")
    (folder / "samples" / "a: b # c.json").write_text("{}")
    assert cli("init", str(folder)).returncode == 0
    data = yaml.safe_load((folder / "image.yaml").read_text())
    assert data["samples"][0]["request_file"] == "samples/a: b # c.json"
    assert data["entry_script"] == "score.py" and data["models"] == [{"path": "models"}]
