"""What the kit leaves on the engine and what the Azure ML deployment runs: every container and image a build
creates carries the owner label (read from the engine's own events), so `make clean` finds it; and the aml-digits
image serves its samples with exactly the environment its generated Azure ML deployment sets."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
import yaml

from kit import PROJECT_ROOT
from kit.deploy.manifests import write_manifests
from kit.docker.clean import leftovers
from kit.docker.containers import OWNER_LABEL
from kit.pipeline import ImageOutcome
from kit.spec.image import load_spec
from kit.verify.smoke import smoke_test
from tests.images.test_examples import remove_images

pytestmark = pytest.mark.docker


def test_every_container_and_image_of_a_build_carries_the_owner_label(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    # sniffed-uploads installs a Debian package: the .deb resolution container and the SBOM container run too.
    folder = tmp_path / "hygiene-check"
    shutil.copytree(PROJECT_ROOT / "images" / "sniffed-uploads", folder)
    spec = yaml.safe_load((folder / "image.yaml").read_text())
    spec["name"] = "hygiene-check"
    (folder / "image.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    started = int(time.time()) - 1
    try:
        result = subprocess.run(
            [sys.executable, "build.py", "build", str(folder)],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
        ended = int(time.time()) + 1
        events = list(docker_client.events(since=started, until=ended, decode=True))
        created = {e["id"]: e for e in events if e.get("Type") == "container" and e.get("Action") == "create"}
        destroyed = {e["id"] for e in events if e.get("Type") == "container" and e.get("Action") == "destroy"}
        assert created, "the engine reported no container of the build"
        for container_id, event in created.items():
            attributes = event["Actor"]["Attributes"]
            if OWNER_LABEL in attributes:
                continue
            # The classic builder's own step containers: from an intermediate image id, removed by the build.
            assert attributes.get("image", "").startswith("sha256:") and container_id in destroyed, attributes
        kit_containers, kit_images = leftovers(docker_client)
        found = {image.id for image in kit_images}
        tag_events = [e for e in events if e.get("Type") == "image" and e.get("Action") == "tag"]
        tagged = {e["id"] for e in tag_events if "hygiene-check" in e["Actor"]["Attributes"].get("name", "")}
        assert tagged
        for image_id in tagged:
            image = docker_client.images.get(image_id)
            assert OWNER_LABEL in (image.labels or {}) and image.id in found, image.tags
        assert not [c for c in kit_containers if c.id in created]  # nothing of the build is left running
    finally:
        remove_images(docker_client, "hygiene-check")


def test_the_azureml_deployment_environment_serves_aml_digits(
    docker_client: docker.DockerClient, built_examples: dict[str, ImageOutcome], tmp_path: Path
) -> None:
    outcome = built_examples["aml-digits"]
    assert not outcome.error, outcome.error
    folder = outcome.plan.folder
    spec = load_spec(folder)
    deploy = write_manifests(spec, directory=tmp_path / "deploy")
    deployment = yaml.safe_load((deploy / "azureml" / "deployment.yaml").read_text())
    environment = {name: str(value) for name, value in deployment["environment_variables"].items()}
    assert environment["AZUREML_MODEL_DIR"].startswith("/var/azureml-app/azureml-models/")
    assert outcome.build is not None
    report = smoke_test(docker_client, outcome.build.image_id, spec, folder, environment=environment)
    assert report.passed, report.failures
    assert report.samples_passed == report.samples_total == len(spec.samples)
