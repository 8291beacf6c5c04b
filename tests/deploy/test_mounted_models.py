"""Manifests of an image whose models are mounted at start (seed-registered, mount: true): Azure ML attaches the
folder as `model:` and loads with azure-ai-ml, Kubernetes mounts a read-only claim (the models-pvc overlay shows
it), KServe fetches STORAGE_URI into /mnt/models; all validate as the baked manifests do, name the digests of the
files the smoke test used, and `make manifests` warns when the folder attached now differs from them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kit import PROJECT_ROOT
from kit.deploy.attached_models import attached_models
from kit.deploy.manifests import KUBERNETES_VERSIONS, write_manifests
from kit.release import record
from kit.release.record import TestedRecord
from kit.spec.image import load_spec
from kit.spec.model_digests import mounted_models
from scoring.layout import MODELS_ROOT
from tests.deploy.conftest import documents, kubectl, tool
from tests.deploy.test_validators import AZUREML_LOAD, BASE_FILES, CHECKOV_SKIPS, kserve_pod
from tests.support.image_folders import edit

SEED = PROJECT_ROOT / "images" / "seed-registered"
MOUNT_POINT = f"{MODELS_ROOT}/heavy-mlp/1/model"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """seed-registered with a small stand-in for its generated model (the manifests read the files, not the model)."""
    copy = tmp_path / "seed-registered"
    shutil.copytree(SEED, copy, ignore=shutil.ignore_patterns("*.onnx"))
    (copy / "model" / "triton" / "heavy_mlp" / "1").mkdir(parents=True, exist_ok=True)
    (copy / "model" / "triton" / "heavy_mlp" / "1" / "model.onnx").write_bytes(b"stand-in model bytes")
    return copy


@pytest.fixture
def tested(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestedRecord:
    """A tested record naming the folder's files as they are now (what the pipeline writes after a smoke test)."""
    monkeypatch.setattr(record, "RECORDS_DIR", tmp_path / "records")
    spec = load_spec(folder)
    mounted = {model.name: model.as_record() for model in mounted_models(folder, spec.models)}
    entry = TestedRecord("sha256:" + "1" * 64, [f"{spec.name}:{spec.version}"], "r", mounted_models=mounted)
    entry.write(spec.name)
    return entry


def render(folder: Path, directory: Path) -> Path:
    return write_manifests(load_spec(folder), directory=directory, folder=folder)


def test_azureml_attaches_the_folder_and_loads_with_azure_ai_ml(folder: Path, tested: TestedRecord, tmp_path) -> None:
    manifests = render(folder, tmp_path / "deploy")
    text = (manifests / "azureml" / "deployment.yaml").read_text()
    raw = yaml.safe_load(text)
    digest = tested.mounted()[0].digest
    assert raw["model"]["name"] == "heavy-mlp" and raw["model"]["version"] == "1"
    assert (manifests / "azureml" / raw["model"]["path"]).resolve() == (folder / "model").resolve()
    assert raw["model"]["tags"]["triton-kit.tested-files"] == digest
    assert "AZUREML_MODEL_DIR" not in raw["environment_variables"]  # Azure ML sets it for the attached model
    assert raw["environment_variables"]["TRITON_MODEL_REPOSITORY"] == "model/triton"
    script = AZUREML_LOAD.replace(
        '"variables": deployment.environment_variables,',
        '"variables": deployment.environment_variables, "model": [deployment.model.name, deployment.model.version,'
        " str(deployment.model.path)],",
    )
    result = subprocess.run(
        [
            tool("python"),
            "-c",
            script,
            str(manifests / "azureml" / "endpoint.yaml"),
            str(manifests / "azureml" / "deployment.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    name, version, path = loaded["model"]
    assert (name, version) == ("heavy-mlp", "1")
    assert Path(path).resolve() == (folder / "model").resolve()
    assert loaded["variables"] == {"TRITON_MODEL_REPOSITORY": "model/triton", "SERVER_PORT": "5001"}


def test_kubernetes_mounts_a_read_only_claim_where_azure_ml_mounts(
    folder: Path, tested: TestedRecord, tmp_path
) -> None:
    manifests = render(folder, tmp_path / "deploy")
    deployment = documents(manifests / "k8s" / "base" / "deployment.yaml")[0]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    [mount] = [item for item in container["volumeMounts"] if item["name"] == "models"]
    assert mount == {"name": "models", "mountPath": MOUNT_POINT, "subPath": "heavy-mlp/1/model", "readOnly": True}
    [volume] = [item for item in pod["spec"]["volumes"] if item["name"] == "models"]
    assert volume["persistentVolumeClaim"] == {"claimName": "seed-registered-models", "readOnly": True}
    assert (
        pod["metadata"]["annotations"]["models.triton-kit.io/heavy-mlp"] == f"version 1, {tested.mounted()[0].digest}"
    )
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] > 300 + 60  # TRITON_READY_TIMEOUT + a slow mount


def test_kserve_fetches_the_model_into_mnt_models(folder: Path, tested: TestedRecord, tmp_path) -> None:
    manifests = render(folder, tmp_path / "deploy")
    service = documents(manifests / "kserve" / "inferenceservice.yaml")[0]
    container = service["spec"]["predictor"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["STORAGE_URI"] == "pvc://seed-registered-models/heavy-mlp/1"
    assert env["AZUREML_MODEL_DIR"] == "/mnt/models"
    assert service["metadata"]["annotations"]["models.triton-kit.io/heavy-mlp"].endswith(tested.mounted()[0].digest)
    assert "models" not in {item["name"] for item in container["volumeMounts"]}


@pytest.fixture
def mounted_manifests(folder: Path, tested: TestedRecord, tmp_path: Path) -> tuple[Path, Path]:
    """The manifests and the models-pvc overlay as kustomize renders it."""
    manifests = render(folder, tmp_path / "deploy")
    rendered = subprocess.run(
        [kubectl(), "kustomize", str(manifests / "k8s" / "overlays" / "models-pvc")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    overlay = tmp_path / "models-pvc.yaml"
    overlay.write_text(rendered.stdout)
    return manifests, overlay


def test_models_pvc_overlay_adds_a_read_only_many_claim(mounted_manifests: tuple[Path, Path]) -> None:
    _, overlay = mounted_manifests
    objects = {item["kind"]: item for item in documents(overlay)}
    claim = objects["PersistentVolumeClaim"]
    assert claim["metadata"]["name"] == "seed-registered-models"
    assert claim["spec"]["accessModes"] == ["ReadOnlyMany"]
    volumes = objects["Deployment"]["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "models",
        "persistentVolumeClaim": {"claimName": "seed-registered-models", "readOnly": True},
    } in volumes


@pytest.mark.parametrize("version", [KUBERNETES_VERSIONS[0], KUBERNETES_VERSIONS[-1]])
def test_mounted_manifests_pass_strict_schema(mounted_manifests: tuple[Path, Path], tmp_path: Path, version) -> None:
    manifests, overlay = mounted_manifests
    files = [str(manifests / "k8s" / "base" / name) for name in BASE_FILES]
    files += [str(overlay), str(kserve_pod(manifests, tmp_path))]
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "-k", version, *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = [line for line in result.stdout.splitlines() if line.startswith("INFO") and "passed" in line]
    assert len(passed) == 2 * len(BASE_FILES) + 2  # base, the overlay's copies plus its claim, the KServe pod


def test_checkov_finds_nothing_new_in_mounted_manifests(mounted_manifests: tuple[Path, Path], tmp_path: Path) -> None:
    manifests, overlay = mounted_manifests
    scanned = tmp_path / "scan"
    scanned.mkdir()
    for name in BASE_FILES:
        (scanned / f"base-{name}").write_text((manifests / "k8s" / "base" / name).read_text())
    (scanned / "overlay-models-pvc.yaml").write_text(overlay.read_text())
    (scanned / "kserve.yaml").write_text((manifests / "kserve" / "inferenceservice.yaml").read_text())
    result = subprocess.run(
        [tool("checkov"), "-d", str(scanned), "--framework", "kubernetes", "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    failed = {item["check_id"] for item in report["results"]["failed_checks"]}
    assert failed <= set(CHECKOV_SKIPS), failed - set(CHECKOV_SKIPS)
    assert report["summary"]["passed"] >= 100


def test_warns_when_the_attached_folder_differs_from_the_tested_one(
    folder: Path, tested: TestedRecord, tmp_path
) -> None:
    spec = load_spec(folder)
    assert attached_models(spec, folder, tmp_path).warnings == []
    (folder / "model" / "triton" / "heavy_mlp" / "1" / "model.onnx").write_bytes(b"retrained")
    [warning] = attached_models(spec, folder, tmp_path).warnings
    assert "differs from the one the smoke test used" in warning and "changed triton/heavy_mlp/1/model.onnx" in warning
    # The manifests still name what was tested, not the changed files.
    manifests = render(folder, tmp_path / "deploy")
    raw = yaml.safe_load((manifests / "azureml" / "deployment.yaml").read_text())
    assert raw["model"]["tags"]["triton-kit.tested-files"] == tested.mounted()[0].digest


def test_make_manifests_prints_the_warning(folder: Path, tested: TestedRecord, tmp_path: Path, capsys) -> None:
    (folder / "model" / "triton" / "heavy_mlp" / "1" / "model.onnx").write_bytes(b"retrained")
    render(folder, tmp_path / "deploy")
    captured = capsys.readouterr()  # the console writes to stderr once a --json run has configured it so
    assert "manifests: warning: seed-registered: the model folder attached now differs" in captured.out + captured.err


def test_untested_folder_is_named_untested(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record, "RECORDS_DIR", tmp_path / "no-records")
    [warning] = attached_models(load_spec(folder), folder, tmp_path).warnings
    assert "no tested record names the mounted model files" in warning


def test_several_mounted_models_are_mounted_each_and_azure_ml_is_told(folder: Path, tested, tmp_path: Path) -> None:
    (folder / "labels").mkdir()
    (folder / "labels" / "names.txt").write_text("a\nb\n")
    edit(
        folder,
        models=[
            {"path": "model", "name": "heavy-mlp", "version": 1, "mount": True},
            {"path": "labels", "name": "label-names", "version": 3, "mount": True},
        ],
    )
    manifests = render(folder, tmp_path / "deploy")
    container = documents(manifests / "k8s" / "base" / "deployment.yaml")[0]["spec"]["template"]["spec"]["containers"][
        0
    ]
    mounts = {item["mountPath"]: item["subPath"] for item in container["volumeMounts"] if item["name"] == "models"}
    assert mounts == {MOUNT_POINT: "heavy-mlp/1/model", f"{MODELS_ROOT}/label-names/3/labels": "label-names/3/labels"}
    kserve = documents(manifests / "kserve" / "inferenceservice.yaml")[0]["spec"]["predictor"]["containers"][0]
    assert {item["name"]: item["value"] for item in kserve["env"]}["STORAGE_URI"] == "pvc://seed-registered-models/"
    raw = yaml.safe_load((manifests / "azureml" / "deployment.yaml").read_text())
    assert "model" not in raw
    warnings = attached_models(load_spec(folder), folder, tmp_path).warnings
    assert any("an Azure ML online deployment attaches one model" in line for line in warnings)
