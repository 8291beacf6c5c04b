"""Every example builds on the cpu base and passes its smoke test; compose runs it; caching and failures behave."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import docker
import pytest
import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from docker.errors import ImageNotFound

from kit import PROJECT_ROOT
from kit.context.render import BUILD_DIR
from kit.pipeline import ImageOutcome, build_all
from kit.release.record import record_path
from kit.spec.image import load_spec
from kit.verify.sbom import SBOM_FILE
from kit.verify.smoke import check_sample, triton_inside_url, triton_ready_inside
from kit.verify.transport import status_of

pytestmark = pytest.mark.docker
EXAMPLE_FOLDER = PROJECT_ROOT / "images" / "mlp-classifier"


def test_every_example_is_built_and_tested(built_examples: dict[str, ImageOutcome], docker_client) -> None:
    assert built_examples, "images/ holds no example"
    for name, outcome in built_examples.items():
        assert not outcome.error, f"{name}: {outcome.error}"
        assert outcome.report and outcome.report.samples_passed == outcome.report.samples_total >= 1
        image = docker_client.images.get(f"{name}:{outcome.plan.spec.version}")
        assert image.attrs["Config"]["User"] == "1000:1000"
        assert image.labels["io.triton-kit.base-profile"] == "cpu"
        assert image.labels["org.opencontainers.image.base.digest"].startswith("sha256:")
        assert json.loads(record_path(name).read_text())["image_id"] == image.id


def test_each_tested_image_has_a_cyclonedx_sbom_of_its_packages(built_examples: dict[str, ImageOutcome]) -> None:
    for name, outcome in built_examples.items():
        path = BUILD_DIR / name / "deploy" / SBOM_FILE
        text = path.read_text()
        assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(text) is None, name
        document = json.loads(text)
        assert document["metadata"]["component"]["bom-ref"] == outcome.build.image_id
        purls = {component.get("purl", "").split("@")[0] for component in document["components"]}
        # Debian's interpreter and C library, the base's backend wheels and the scoring runtime's own.
        expected = {"pkg:deb/debian/libc6", "pkg:deb/debian/python3.11", "pkg:pypi/numpy", "pkg:pypi/onnxruntime"}
        assert expected | {"pkg:pypi/gunicorn", "pkg:pypi/gevent"} <= purls, (name, sorted(purls))
        names = [component["name"] for component in document["components"]]
        assert "tritonserver" in names


def test_compose_started_container_serves_health_and_score(
    docker_services, docker_compose_project_name: str, compose_socket_dir, docker_client
) -> None:
    # No default bridge here: the no-bridge compose file (network_mode none, the scoring app on a unix socket).
    target = compose_socket_dir / "scoring.sock"
    docker_services.wait_until_responsive(check=lambda: status_of(target, "/ready") == 200, timeout=180.0, pause=0.5)
    assert status_of(target, "/") == 200
    spec = load_spec(EXAMPLE_FOLDER)
    for sample in spec.samples:
        assert check_sample(target, EXAMPLE_FOLDER, sample) == []
    containers = docker_client.containers.list(filters={"label": "io.triton-kit.owner"})
    project = docker_compose_project_name
    composed = [item for item in containers if item.labels.get("com.docker.compose.project") == project]
    assert composed and all(container.attrs["HostConfig"]["NetworkMode"] == "none" for container in composed)
    assert all(triton_ready_inside(container, triton_inside_url(spec)) for container in composed)
    assert not [
        network.name for network in docker_client.networks.list() if network.name not in ("host", "none", "bridge")
    ]


def copy_example(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(EXAMPLE_FOLDER, folder)
    spec_path = folder / "image.yaml"
    data = yaml.safe_load(spec_path.read_text())
    data["name"] = name
    spec_path.write_text(yaml.safe_dump(data))
    return folder


def remove_images(docker_client: docker.DockerClient, name: str) -> None:
    for image in docker_client.images.list(name=name):
        for tag in image.tags:
            docker_client.images.remove(tag, force=True)


def test_editing_only_score_py_reuses_every_layer_before_the_app(tmp_path: Path, built_examples, docker_client) -> None:
    name = "cache-check"
    folder = copy_example(tmp_path, name)  # an image folder outside images/, given by path
    try:
        (first,) = build_all(docker_client, [str(folder)], "cpu")
        assert not first.error, first.error
        with (folder / "score.py").open("a") as script:
            script.write("\n# edited: only the app layer may change\n")
        (second,) = build_all(docker_client, [str(folder)], "cpu")
        assert not second.error, second.error
        steps = second.build.steps
        app_step = next(step for step in steps if step.instruction.startswith("COPY app/"))
        before = [step for step in steps if step.number < app_step.number and not step.instruction.startswith("FROM")]
        assert before and all(step.cached for step in before), [(s.number, s.instruction, s.cached) for s in before]
        assert not app_step.cached
    finally:
        remove_images(docker_client, name)


def test_failing_smoke_test_leaves_nothing_tagged_as_tested(tmp_path: Path, built_examples, docker_client) -> None:
    name = "smoke-fails"
    folder = copy_example(tmp_path, name)
    expected_path = folder / "samples" / "expected.json"
    expected = json.loads(expected_path.read_text())
    expected["labels"] = [label + 1 for label in expected["labels"]]
    expected_path.write_text(json.dumps(expected))
    try:
        (outcome,) = build_all(docker_client, [str(folder)], "cpu")
        assert "sample two-rows: $.labels[0]: expected" in outcome.error
        with pytest.raises(ImageNotFound):
            docker_client.images.get(f"{name}:1.0.0")
        assert not record_path(name).exists()
        assert not docker_client.containers.list(all=True, filters={"name": f"triton-kit-smoke-{name}"})
    finally:
        remove_images(docker_client, name)
