"""The tested image under the generated Deployment's own settings, applied through Docker: read-only root file system
with tmpfs where the manifest mounts emptyDirs, a non-root uid (the manifest's, and a random one with gid 0 as
OpenShift-style clusters assign), every capability dropped, no privilege escalation, the manifest's memory and cpu
limits; then the probe paths and ports read from the YAML are checked against it: startup -> ready -> score."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from kit.docker.containers import free_port, http_status, running
from kit.spec.image import ImageSpec
from kit.verify.smoke import check_sample, loopback_environment
from tests.deploy.conftest import EXAMPLE_FOLDER, documents

pytestmark = pytest.mark.docker
DOCKER_SIZE = {"Ki": "k", "Mi": "m", "Gi": "g"}


@dataclass(frozen=True)
class PodSettings:
    """What the Deployment asks of the container runtime, in Docker's terms."""

    container: dict[str, Any]
    pod_security: dict[str, Any]
    volumes: dict[str, dict[str, Any]]

    @property
    def security(self) -> dict[str, Any]:
        return self.container["securityContext"]

    def port(self, probe: str) -> int:
        port = self.container[probe]["httpGet"]["port"]
        named = {item["name"]: item["containerPort"] for item in self.container["ports"]}
        return int(named.get(port, port))

    def tmpfs(self) -> dict[str, str]:
        mounts = {}
        for mount in self.container["volumeMounts"]:
            empty_dir = self.volumes[mount["name"]]["emptyDir"]  # only emptyDirs: nothing from the host
            size = empty_dir.get("sizeLimit", "")
            mounts[mount["mountPath"]] = f"size={size[:-2]}{DOCKER_SIZE[size[-2:]]}" if size else ""
        return mounts

    def docker_options(self, user: str) -> dict[str, Any]:
        limits = self.container["resources"]["limits"]
        assert self.security["readOnlyRootFilesystem"] is True
        assert self.security["allowPrivilegeEscalation"] is False and self.security["privileged"] is False
        assert self.security["seccompProfile"]["type"] == "RuntimeDefault"  # Docker's default profile
        assert "add" not in self.security["capabilities"]
        return {
            "read_only": True,
            "tmpfs": self.tmpfs(),
            "user": user,
            "cap_drop": self.security["capabilities"]["drop"],
            "security_opt": ["no-new-privileges"],
            "mem_limit": limits["memory"][:-2] + DOCKER_SIZE[limits["memory"][-2:]],
            "nano_cpus": int(float(limits["cpu"]) * 1e9),
        }


def pod_settings(manifests: Path) -> PodSettings:
    deployment = documents(manifests / "k8s" / "base" / "deployment.yaml")[0]
    pod = deployment["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    return PodSettings(pod["containers"][0], pod["securityContext"], volumes)


def wait_for_status(url: str, budget_s: float) -> int | None:
    deadline = time.monotonic() + budget_s
    status = http_status(url)
    while status != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        status = http_status(url)
    return status


@pytest.mark.parametrize("identity", ["manifest", "random"])
def test_image_serves_under_the_deployments_security_context(
    docker_client: docker.DockerClient, tested_example: str, manifests: Path, example_spec: ImageSpec, identity: str
) -> None:
    settings = pod_settings(manifests)
    security, pod_security = settings.security, settings.pod_security
    assert security["runAsNonRoot"] is True and pod_security["runAsNonRoot"] is True
    if identity == "manifest":
        user = f"{security['runAsUser']}:{security['runAsGroup']}"
    else:
        user = f"{random.randint(10_000, 2_000_000_000)}:0"
    assert not user.startswith("0:")

    # The manifest's port is where the probes point; on the host network the container needs a free one instead.
    manifest_port = settings.port("readinessProbe")
    declared = {item["name"]: item["value"] for item in settings.container["env"]}
    assert (
        int(declared["SERVER_PORT"]) == manifest_port == settings.port("startupProbe") == settings.port("livenessProbe")
    )
    port = free_port()
    environment = loopback_environment(port, free_port())
    options = settings.docker_options(user)
    name = f"triton-kit-deploy-security-{port}"
    with running(docker_client, tested_example, environment=environment, name=name, **options) as container:
        container.reload()
        host = container.attrs["HostConfig"]
        assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
        assert container.attrs["Config"]["User"] == user

        startup = settings.container["startupProbe"]
        budget = startup["periodSeconds"] * startup["failureThreshold"]
        assert wait_for_status(f"http://127.0.0.1:{port}{startup['httpGet']['path']}", budget) == 200, container.logs(
            tail=40
        ).decode()
        assert http_status(f"http://127.0.0.1:{port}{settings.container['readinessProbe']['httpGet']['path']}") == 200
        assert http_status(f"http://127.0.0.1:{port}{settings.container['livenessProbe']['httpGet']['path']}") == 200
        for sample in example_spec.samples:
            assert check_sample(port, EXAMPLE_FOLDER, sample) == []

        uid = container.exec_run(["id", "-u"]).output.decode().strip()
        assert uid == user.split(":")[0]
        denied = container.exec_run(["touch", "/var/azureml-app/written"])
        assert denied.exit_code != 0 and b"Read-only file system" in denied.output
        allowed = container.exec_run(["touch", "/tmp/written"])
        assert allowed.exit_code == 0, allowed.output
