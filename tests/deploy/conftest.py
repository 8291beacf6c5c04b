"""Deploy tier: manifests of the mlp-classifier example, the offline validators from .venv-deploy (make
deploy-venv), and containers run the way the manifests run them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import docker
import pytest
import yaml

from kit import PROJECT_ROOT
from kit.deploy.manifests import write_manifests
from kit.errors import KitError
from kit.pipeline import build_all
from kit.release.push import tested_image
from kit.spec.image import ImageSpec, load_spec

EXAMPLE = "mlp-classifier"
EXAMPLE_FOLDER = PROJECT_ROOT / "images" / EXAMPLE
DEPLOY_BIN = PROJECT_ROOT / ".venv-deploy" / "bin"


def tool(name: str) -> str:
    """A validator's command; a missing one fails the run (make test prepares them), never skips."""
    path = DEPLOY_BIN / name
    if not path.exists():
        pytest.fail(f"{path} missing: run `make deploy-venv` (make test does)", pytrace=False)
    return str(path)


def kubectl() -> str:
    """The machine's kubectl, else the one `make kubectl` installs into .venv-deploy (make test does)."""
    return shutil.which("kubectl") or tool("kubectl")


def documents(path: Path) -> list[dict]:
    return [item for item in yaml.safe_load_all(path.read_text()) if item]


@pytest.fixture(scope="session")
def example_spec() -> ImageSpec:
    return load_spec(EXAMPLE_FOLDER)


@pytest.fixture(scope="session")
def manifests(tmp_path_factory: pytest.TempPathFactory, example_spec: ImageSpec) -> Path:
    return write_manifests(example_spec, directory=tmp_path_factory.mktemp("deploy"))


@pytest.fixture(scope="session")
def overlay(manifests: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example overlay as kustomize renders it: the objects a cluster would receive."""
    rendered = subprocess.run(
        [kubectl(), "kustomize", str(manifests / "k8s" / "overlays" / "example")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    path = tmp_path_factory.mktemp("overlay") / "example.yaml"
    path.write_text(rendered.stdout)
    return path


@pytest.fixture(scope="session")
def tested_example(docker_client: docker.DockerClient) -> str:
    """The id of the example image as this checkout built and smoke-tested it (built now unless that is on record);
    an id, not the tag, which another checkout on the same engine may move."""
    try:
        return tested_image(docker_client, EXAMPLE)[0]
    except KitError:
        outcomes = build_all(docker_client, [EXAMPLE], "cpu")
        assert not outcomes[0].error, outcomes[0].error
    return tested_image(docker_client, EXAMPLE)[0]
