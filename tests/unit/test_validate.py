"""Validation before any build (issue 21): each broken folder is refused with the file, the field and a fix, every
problem is listed, and no Docker engine is needed (the CLI runs with DOCKER_HOST pointing at nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kit import PROJECT_ROOT
from kit.errors import ExitCode, KitError
from kit.spec.image import load_spec
from kit.validation import validate_folders
from tests.support.image_folders import edit

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def problems(folder: Path, base: str = "auto") -> str:
    with pytest.raises(KitError) as caught:
        validate_folders([folder], base)
    return str(caught.value)


def cli(*arguments: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "NO_COLOR": "1", **NO_ENGINE}
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "build.py"), *arguments],
        capture_output=True, text=True, cwd=cwd, env=environment, timeout=120, check=False,
    )  # fmt: skip


def test_the_example_is_valid_without_an_engine(image_folder: Path) -> None:
    result = cli("--json", "validate", "--offline", str(image_folder))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["images"][0]["profiles"] == ["ngc-20.09", "cpu"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("def init(:\n", "entry_script: score.py line 1: does not compile"),
        ("", "entry_script: score.py defines no init() and run()"),
        ("def init():\n    pass\n", "entry_script: score.py defines no run()"),
        ("import nothing_here_at_all\n" * 3 + "def init(): pass\ndef run(x): return x\n", ""),
    ],
)
def test_entry_script_is_parsed_not_imported(image_folder: Path, text: str, expected: str) -> None:
    (image_folder / "score.py").write_text(text)
    if not expected:  # parsed, never imported: a module missing on the host is fine
        load_spec(image_folder)
        return
    found = problems(image_folder)
    assert expected in found and ("add them" in found or "fix the Python syntax" in found)


def test_entry_script_may_define_run_through_an_import_or_assignment(image_folder: Path) -> None:
    (image_folder / "score.py").write_text("from helpers import init\nrun = init\n")
    load_spec(image_folder)


@pytest.mark.parametrize("content", [b"", os.urandom(64), b"\x08\x07" * 10])
def test_onnx_files_must_parse(image_folder: Path, content: bytes) -> None:
    (image_folder / "triton" / "mlp" / "1" / "model.onnx").write_bytes(content)
    found = problems(image_folder)
    assert "triton/mlp/1/model.onnx:" in found and "export the model again" in found


def test_config_pbtxt_must_parse_as_triton_model_config(image_folder: Path) -> None:
    (image_folder / "triton" / "mlp" / "config.pbtxt").write_text('name: "mlp"\nmax_batch_sizes: 8\n')
    found = problems(image_folder)
    assert "config.pbtxt: not a Triton model configuration" in found and "max_batch_sizes" in found


def test_json_request_sample_must_be_json(image_folder: Path) -> None:
    (image_folder / "samples" / "request.json").write_text("{not json")
    found = problems(image_folder)
    assert "samples.0.request_file: samples/request.json is sent as application/json but is not valid JSON" in found


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "API_KEY: the value is empty (null)"),
        (["a", "b"], "API_KEY: the value is a list"),
        ({"a": 1}, "API_KEY: the value is a mapping"),
    ],
)
def test_environment_values_are_scalars(image_folder: Path, value: object, expected: str) -> None:
    edit(image_folder, environment={"WORKER_COUNT": 1, "API_KEY": "x"})
    data = yaml.safe_load((image_folder / "image.yaml").read_text())
    data["environment"]["API_KEY"] = value
    (image_folder / "image.yaml").write_text(yaml.safe_dump(data))
    assert expected in problems(image_folder)


def test_environment_booleans_and_numbers_become_text(image_folder: Path) -> None:
    edit(image_folder, environment={"WORKER_COUNT": 2, "MY_FLAG": True, "RATIO": 0.5})
    assert load_spec(image_folder).environment == {"WORKER_COUNT": "2", "MY_FLAG": "true", "RATIO": "0.5"}


def test_settings_the_runtime_would_refuse_are_refused_now(image_folder: Path) -> None:
    edit(image_folder, environment={"WORKER_COUNT": -3})
    assert "WORKER_COUNT=-3 must be >= 1" in problems(image_folder)


def test_duplicate_keys_are_errors(image_folder: Path) -> None:
    path = image_folder / "image.yaml"
    path.write_text(path.read_text() + "name: other\nversion: '2'\n")
    found = problems(image_folder)
    assert "duplicate keys" in found and "key 'name' appears again" in found and "key 'version'" in found


@pytest.mark.parametrize(("encoding", "expected"), [("utf-16", "is UTF-16 text"), ("latin-1", "is not UTF-8")])
def test_image_yaml_encodings(image_folder: Path, encoding: str, expected: str) -> None:
    path = image_folder / "image.yaml"
    path.write_bytes((path.read_text() + "# café\n").encode(encoding))
    found = problems(image_folder)
    assert "image.yaml" in found and expected in found and "save it as UTF-8" in found


def test_a_long_name_is_refused(image_folder: Path) -> None:
    edit(image_folder, name="a" * 300)
    assert "name: 300 characters is too long; use at most 128" in problems(image_folder)


def test_symlink_to_a_host_file_is_refused(image_folder: Path) -> None:
    (image_folder / "passwd").symlink_to("/etc/passwd")
    found = problems(image_folder)
    assert "passwd: symlink to /etc/passwd, outside the image folder; copy that file into the folder" in found


def test_dangling_symlink_is_refused(image_folder: Path) -> None:
    (image_folder / "gone").symlink_to(image_folder / "nowhere")
    assert "gone: dangling symlink" in problems(image_folder)


def test_symlink_inside_the_folder_is_fine(image_folder: Path) -> None:
    (image_folder / "helpers").mkdir()
    (image_folder / "helpers" / "util.py").write_text("X = 1\n")
    (image_folder / "lib").symlink_to("helpers")
    load_spec(image_folder)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"entry_script": "/etc/hostname"}, "entry_script: /etc/hostname leaves the image folder"),
        ({"model_repository": "../../outside/triton"}, "model_repository: ../../outside/triton leaves the image"),
    ],
)
def test_paths_that_leave_the_folder_are_refused(image_folder: Path, change: dict, expected: str) -> None:
    edit(image_folder, **change)
    assert expected in problems(image_folder)


def test_a_symlinked_entry_script_pointing_outside_is_refused(image_folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.py"
    outside.write_text("def init(): pass\ndef run(x): return x\n")
    (image_folder / "linked.py").symlink_to(outside)
    edit(image_folder, entry_script="linked.py")
    assert "entry_script: linked.py is a symlink to" in problems(image_folder)


def test_every_problem_is_listed_not_just_the_first(image_folder: Path) -> None:
    (image_folder / "score.py").write_text("")
    (image_folder / "samples" / "request.json").write_text("{")
    (image_folder / "passwd").symlink_to("/etc/passwd")
    found = problems(image_folder)
    assert "defines no init()" in found and "not valid JSON" in found and "passwd: symlink" in found


def test_an_unknown_model_folder_is_not_told_to_switch_base(image_folder: Path) -> None:
    (image_folder / "triton" / "other" / "1").mkdir(parents=True)
    (image_folder / "triton" / "other" / "config.pbtxt").write_text('name: "other"\n')
    found = problems(image_folder, "cpu")
    assert "no model file tells which backend serves it" in found and "BASE=ngc-20.09" not in found


def test_broken_folders_fail_validate_without_an_engine(image_folder: Path) -> None:
    (image_folder / "score.py").write_text("def run(:\n")
    result = cli("--json", "validate", "--offline", str(image_folder))
    assert result.returncode == ExitCode.VALIDATION, result.stdout + result.stderr
    assert "does not compile" in json.loads(result.stdout)["error"]
    render = cli("--json", "render", str(image_folder))  # validation comes before the engine is asked
    assert render.returncode == ExitCode.VALIDATION and "does not compile" in json.loads(render.stdout)["error"]


def test_a_remote_docker_host_is_refused_for_builds_with_the_reason(image_folder: Path) -> None:
    environment = {**os.environ, "NO_COLOR": "1", "DOCKER_HOST": "tcp://192.0.2.10:2375"}
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "build.py"), "--json", "build", str(image_folder)],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=environment, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == ExitCode.ENGINE
    assert "names an engine on another machine; the smoke test mounts" in json.loads(result.stdout)["error"]


def test_type_errors_say_how_to_write_the_value(image_folder: Path) -> None:
    edit(image_folder, version=1.5)
    assert "version: Input should be a valid string; fix: write it as text; quote values" in problems(image_folder)
    edit(image_folder, version="1 0")
    assert "version: does not match the allowed form; fix: use letters, digits and . _ -" in problems(image_folder)


def test_an_undefined_variable_in_a_users_dockerfile_template_is_refused(image_folder: Path) -> None:
    (image_folder / "Dockerfile.j2").write_text(
        '{% extends "image/Dockerfile.j2" %}\n{% block app %}{{ super() }}\nRUN echo {{ nope }}\n{% endblock %}\n'
    )
    edit(image_folder, dockerfile_template="Dockerfile.j2")
    found = problems(image_folder)
    assert "dockerfile_template: Dockerfile.j2 uses undefined variable(s) nope; use only the kit's:" in found
