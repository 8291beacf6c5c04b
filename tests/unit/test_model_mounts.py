"""Models mounted at start (image.yaml models: mount: true), without an engine: the spec, the rendered context and
Dockerfile (no model inside), the compose files' read-only binds, the digests the tested record keeps, and the
supervisor's one-line refusal when the mount is missing or holds no model repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kit import PROJECT_ROOT
from kit.context.lint import hadolint
from kit.context.render import render_context
from kit.spec.bases import CPU
from kit.spec.image import SpecError, load_spec
from kit.spec.model_digests import differences, mounted_models
from kit.spec.model_folders import model_locations, mount_point
from kit.verify.model_mounts import direct_volumes, staged_mounts
from scoring.layout import MODELS_ROOT
from tests.support.image_folders import edit
from tests.unit.test_render import fixed_inputs

AML_DIGITS = PROJECT_ROOT / "images" / "aml-digits"


@pytest.fixture
def mounted_folder(tmp_path: Path) -> Path:
    """aml-digits (one registered folder, models/, with triton/ and labels.txt) switched to mount: true."""
    folder = tmp_path / "mounted"
    shutil.copytree(AML_DIGITS, folder)
    edit(folder, models=[{"path": "models", "name": "digits-model", "version": 1, "mount": True}])
    return folder


def test_mounted_models_keep_azure_ml_locations(mounted_folder: Path) -> None:
    spec = load_spec(mounted_folder)
    assert spec.models[0].mount
    assert model_locations(spec) == {
        "model_dir": f"{MODELS_ROOT}/digits-model/1",
        "triton_repository": "models/triton",
    }
    assert mount_point(spec.models[0]) == f"{MODELS_ROOT}/digits-model/1/models"


def test_mount_is_all_or_none(mounted_folder: Path) -> None:
    (mounted_folder / "extra").mkdir()
    (mounted_folder / "extra" / "notes.txt").write_text("x")
    edit(mounted_folder, models=[{"path": "models", "mount": True}, {"path": "extra", "mount": False}])
    with pytest.raises(SpecError, match="mount: set it on every model folder or on none"):
        load_spec(mounted_folder)


def test_mount_must_be_a_boolean(mounted_folder: Path) -> None:
    edit(mounted_folder, models=[{"path": "models", "mount": "sometimes"}])
    with pytest.raises(SpecError, match=r"models\.0\.mount: .*fix: write true or false"):
        load_spec(mounted_folder)


def test_validate_checks_a_mounted_folder_like_a_baked_one(mounted_folder: Path) -> None:
    shutil.rmtree(mounted_folder / "models" / "triton")
    with pytest.raises(SpecError, match="no Triton model repository"):
        load_spec(mounted_folder)


def test_context_and_dockerfile_hold_no_model(mounted_folder: Path, tmp_path: Path) -> None:
    inputs = fixed_inputs(mounted_folder, CPU)
    context = render_context(inputs, tmp_path / "context")
    files = [path.relative_to(context).as_posix() for path in context.rglob("*") if path.is_file()]
    assert not [name for name in files if name.endswith(("model.onnx", "labels.txt"))], files
    assert not (context / "models").exists()
    dockerfile = (context / "Dockerfile").read_text()
    assert "COPY models/" not in dockerfile and "COPY triton/" not in dockerfile
    assert f"AZUREML_MODEL_DIR={MODELS_ROOT}/digits-model/1 " in dockerfile
    assert "TRITON_MODEL_REPOSITORY=models/triton " in dockerfile
    linted = hadolint(dockerfile)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    baked = render_context(fixed_inputs(AML_DIGITS, CPU), tmp_path / "baked")
    assert (baked / "models" / "digits-model" / "1" / "models" / "triton" / "digits" / "1" / "model.onnx").is_file()


def test_compose_files_bind_the_folder_read_only(mounted_folder: Path, tmp_path: Path) -> None:
    context = render_context(fixed_inputs(mounted_folder, CPU), tmp_path / "context")
    target = f"{MODELS_ROOT}/digits-model/1/models"
    for name in ("docker-compose.yml", "docker-compose.no-bridge.yml"):
        service = yaml.safe_load((context / name).read_text())["services"]["aml-digits"]
        binds = [item for item in service["volumes"] if target in item]
        assert len(binds) == 1, service["volumes"]
        source, mounted_at, mode = binds[0].split(":")
        assert (mounted_at, mode) == (target, "ro")
        assert (context / source).resolve() == (mounted_folder / "models").resolve()


def test_make_run_binds_the_same_mount_points(mounted_folder: Path) -> None:
    volumes = direct_volumes(mounted_folder, load_spec(mounted_folder))
    assert volumes == {
        str((mounted_folder / "models").resolve()): {"bind": f"{MODELS_ROOT}/digits-model/1/models", "mode": "ro"}
    }
    assert direct_volumes(AML_DIGITS, load_spec(AML_DIGITS)) == {}


def test_staged_snapshot_is_readable_by_any_uid_and_digested(mounted_folder: Path) -> None:
    private = mounted_folder / "models" / "triton" / "digits" / "labels.txt"
    private.chmod(0o600)  # a user's file that only its owner may read: the snapshot copies it readable by all
    spec = load_spec(mounted_folder)
    with staged_mounts(mounted_folder, spec) as staged:
        [(source, bind)] = staged.volumes.items()
        assert bind == {"bind": mount_point(spec.models[0]), "mode": "ro"}
        staged_files = sorted(path for path in Path(source).rglob("*") if path.is_file())
        assert staged_files and all(path.stat().st_mode & 0o444 == 0o444 for path in staged_files)
        assert all(path.stat().st_mode & 0o555 == 0o555 for path in Path(source).rglob("*") if path.is_dir())
        [model] = staged.models
        assert set(model.files) == {"triton/digits/1/model.onnx", "triton/digits/labels.txt"}
        assert model.files == mounted_models(mounted_folder, spec.models)[0].files
    assert not Path(source).exists()  # removed after the run


def test_differences_name_changed_added_and_removed_files(mounted_folder: Path) -> None:
    spec = load_spec(mounted_folder)
    tested = mounted_models(mounted_folder, spec.models)
    assert differences(tested, tested) == []
    (mounted_folder / "models" / "triton" / "digits" / "labels.txt").write_text("changed\n")
    (mounted_folder / "models" / "README.txt").write_text("new\n")
    now = mounted_models(mounted_folder, spec.models)
    [line] = differences(tested, now)
    assert "changed triton/digits/labels.txt" in line and "added README.txt" in line
    assert tested[0].digest != now[0].digest and tested[0].digest.startswith("sha256:")


def supervisor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(PROJECT_ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "scoring.supervisor"], env=environment, capture_output=True, text=True, timeout=60
    )


def test_supervisor_refuses_to_start_without_the_mount(tmp_path: Path) -> None:
    result = supervisor({"AZUREML_MODEL_DIR": str(tmp_path / "digits-model" / "1"), "TRITON_MODEL_REPOSITORY": "m/t"})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "exiting with" not in line]
    assert len(lines) == 1, result.stderr
    assert "the model folder is not mounted" in lines[0]
    assert str(tmp_path / "digits-model" / "1" / "m" / "t") in lines[0]
    assert "Traceback" not in result.stderr


def test_supervisor_refuses_a_mount_without_a_model_repository(tmp_path: Path) -> None:
    (tmp_path / "m" / "t" / "notes").mkdir(parents=True)  # a folder, but no <model>/<version>/ in it
    result = supervisor({"AZUREML_MODEL_DIR": str(tmp_path), "TRITON_MODEL_REPOSITORY": "m/t"})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "exiting with" not in line]
    assert len(lines) == 1 and "holds no Triton model" in lines[0], result.stderr
