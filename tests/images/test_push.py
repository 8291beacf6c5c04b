"""make push against a real registry on 127.0.0.1: digests verified, untested images refused, failures named."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from kit import PROJECT_ROOT
from tests.images.conftest import PUSH_IMAGE, Registry
from tests.images.test_examples import copy_example

pytestmark = pytest.mark.docker
MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"


def push(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "build.py", "push", *arguments]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False)


def registry_digest(address: str, repository: str, tag: str) -> str:
    request = urllib.request.Request(f"http://{address}/v2/{repository}/manifests/{tag}", method="HEAD")
    request.add_header("Accept", MANIFEST_TYPES)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Docker-Content-Digest"]


def test_push_to_two_namespaces_verifies_digests(push_image: str, registry: Registry) -> None:
    result = push(push_image, "--registry", f"{registry.address}/team", "--registry", f"{registry.address}/prod")
    assert result.returncode == 0, result.stdout + result.stderr
    pushed = [line.split() for line in result.stdout.splitlines() if line.startswith("pushed ")]
    assert len(pushed) == 4  # two tags (version, git sha) in two namespaces
    for _, reference, digest in pushed:
        repository, _, tag = reference.removeprefix(f"{registry.address}/").rpartition(":")
        assert registry_digest(registry.address, repository, tag) == digest
    digests = {digest for _, _, digest in pushed}
    assert len(digests) == 1  # one image, one digest everywhere
    with urllib.request.urlopen(f"http://{registry.address}/v2/_catalog", timeout=10) as response:
        assert set(json.loads(response.read())["repositories"]) == {f"team/{PUSH_IMAGE}", f"prod/{PUSH_IMAGE}"}
    # The digest is on record: the manifests name the pushed image by it.
    team = f"{registry.address}/team"
    command = [sys.executable, "build.py", "--json", "manifests", push_image, "--registry", team]
    manifests = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert manifests.returncode == 0, manifests.stdout + manifests.stderr
    deployment = Path(json.loads(manifests.stdout)["manifests"][PUSH_IMAGE]) / "k8s" / "base" / "deployment.yaml"
    assert f'image: "{team}/{PUSH_IMAGE}@{digests.pop()}"' in deployment.read_text()


def test_push_to_a_stopped_registry_fails_and_names_it(push_image: str, registry: Registry) -> None:
    registry.stop()
    result = push(push_image, "--registry", registry.address)
    assert result.returncode != 0
    assert result.returncode == 5
    assert f"{registry.address}: the registry does not answer" in result.stdout + result.stderr


def test_bad_registry_and_untested_images_are_refused(push_image: str, registry: Registry, tmp_path) -> None:
    bad = push(push_image, "--registry", "http://127.0.0.1:5000")
    assert bad.returncode != 0 and "is not host[:port][/namespace]" in bad.stdout
    folder = copy_example(tmp_path, "never-built")
    untested = push(str(folder), "--registry", registry.address)
    assert untested.returncode != 0
    assert "never-built: no passing smoke test on record" in untested.stdout
    with urllib.request.urlopen(f"http://{registry.address}/v2/_catalog", timeout=10) as response:
        assert json.loads(response.read())["repositories"] == []
