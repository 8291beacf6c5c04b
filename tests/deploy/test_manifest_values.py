"""What the manifests derive from image.yaml: probe budgets, grace period, image by tag or pushed digest, resources,
GPU, and the `deploy:` section's errors (file, field, fix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.deploy.manifests import write_manifests
from kit.release import record
from kit.release.record import TestedRecord
from kit.spec.image import SpecError, load_spec
from tests.deploy.conftest import documents
from tests.support.image_folders import EXAMPLE, edit


def deployment(folder: Path, tmp_path: Path, registry: str = "") -> dict:
    directory = write_manifests(load_spec(folder), registry, tmp_path / "deploy")
    return documents(directory / "k8s" / "base" / "deployment.yaml")[0]


def container_of(manifest: dict) -> dict:
    return manifest["spec"]["template"]["spec"]["containers"][0]


def test_probe_budget_and_grace_follow_the_images_timeouts(image_folder: Path, tmp_path: Path) -> None:
    edit(image_folder, environment={"TRITON_READY_TIMEOUT": "600", "GRACEFUL_TIMEOUT": "30"})
    manifest = deployment(image_folder, tmp_path)
    startup = container_of(manifest)["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] > 600
    assert manifest["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 30 + 5  # drain + preStop pause


def test_defaults_cover_the_runtime_defaults(tmp_path: Path) -> None:
    manifest = deployment(EXAMPLE, tmp_path)
    startup = container_of(manifest)["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300  # TRITON_READY_TIMEOUT default
    assert manifest["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 8  # GRACEFUL_TIMEOUT default
    assert container_of(manifest)["image"] == "mlp-classifier:1.0.0"


def test_resources_replicas_and_gpu_come_from_the_deploy_section(image_folder: Path, tmp_path: Path) -> None:
    edit(image_folder, deploy={"replicas": 3, "max_replicas": 9, "cpu": "500m", "memory": "768Mi", "gpu": 1})
    manifest = deployment(image_folder, tmp_path)
    resources = container_of(manifest)["resources"]
    assert manifest["spec"]["replicas"] == 3
    assert resources["requests"] == {"cpu": "500m", "memory": "768Mi", "nvidia.com/gpu": "1"}
    assert resources["limits"]["nvidia.com/gpu"] == "1"
    hpa = documents(tmp_path / "deploy" / "k8s" / "base" / "hpa.yaml")[0]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 9)


def test_pushed_image_is_named_by_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = "sha256:" + "ab" * 32
    monkeypatch.setattr(record, "RECORDS_DIR", tmp_path / "records")
    TestedRecord("x", [], "", {"127.0.0.1:5000/mlp-classifier:1.0.0": digest}).write("mlp-classifier")
    pinned = container_of(deployment(EXAMPLE, tmp_path, "127.0.0.1:5000"))
    assert pinned["image"] == f"127.0.0.1:5000/mlp-classifier@{digest}"
    assert container_of(deployment(EXAMPLE, tmp_path))["image"] == "mlp-classifier:1.0.0"  # no registry named
    unpushed = container_of(deployment(EXAMPLE, tmp_path, "registry.example:443/team"))
    assert unpushed["image"] == "registry.example:443/team/mlp-classifier:1.0.0"


@pytest.mark.parametrize(
    ("deploy", "message"),
    [
        ({"replicas": 0}, "deploy.replicas: Input should be greater than or equal to 1"),
        ({"cpu": "lots"}, "deploy.cpu: 'lots' is not a cpu quantity; write millicores like 500m"),
        ({"memory": "2GB"}, "deploy.memory: '2GB' is not a memory quantity; write 512Mi, 2Gi"),
        ({"cpu": "3", "cpu_limit": "2"}, "deploy: cpu_limit 2 is below the cpu request 3; raise cpu_limit"),
        ({"replicas": 5, "max_replicas": 2}, "max_replicas (2) is below replicas (5); raise it"),
        ({"gpus": 1}, "deploy.gpus: Extra inputs are not permitted; fix: remove it (allowed: namespace, replicas"),
        ({"namespace": "Team_A"}, "deploy.namespace: use lower-case letters, digits and -"),
    ],
)
def test_bad_deploy_values_name_file_field_and_fix(image_folder: Path, deploy: dict, message: str) -> None:
    edit(image_folder, deploy=deploy)
    with pytest.raises(SpecError) as caught:
        load_spec(image_folder)
    assert str(image_folder / "image.yaml") in str(caught.value)
    assert message in str(caught.value)


def test_image_yaml_registries_name_the_image_without_registry(image_folder: Path, tmp_path: Path) -> None:
    edit(image_folder, registries=["registry.example/team", "backup.example"])
    assert container_of(deployment(image_folder, tmp_path))["image"] == "registry.example/team/mlp-classifier:1.0.0"
