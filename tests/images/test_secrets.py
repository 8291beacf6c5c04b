"""Credentials planted in the environment and the Docker config during build and push end up nowhere: not in
`docker history`, labels, image files, the rendered context, or any output."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kit import PROJECT_ROOT
from kit.context.render import BUILD_DIR
from tests.images.conftest import REGISTRY_USERS
from tests.images.registry_servers import TlsRegistry

pytestmark = pytest.mark.docker
SECRETS = {
    "REGISTRY_PASSWORD": REGISTRY_USERS["alice"],  # the real password of the TLS + htpasswd registry pushed to
    "BUILD_SECRET_TOKEN": "tok-5d2b8e44-build",
    "docker-config": "cfg-91c0ffee-docker",
}


def run_cli(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "build.py", *arguments]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


def image_bytes_contain(docker_client, image: str, needles: list[bytes]) -> list[bytes]:
    container = docker_client.containers.create(image, entrypoint=["true"], network_mode="host")
    found: set[bytes] = set()
    tail = b""
    try:
        for chunk in container.export(chunk_size=1 << 20):
            window = tail + chunk
            found.update(needle for needle in needles if needle in window)
            tail = window[-256:]
    finally:
        container.remove(force=True)
    return sorted(found)


def test_secrets_never_reach_image_history_labels_files_or_logs(
    auth_registries: tuple[TlsRegistry, TlsRegistry], docker_client, tmp_path: Path
) -> None:
    registry = auth_registries[0]
    folder = tmp_path / "secret-check"
    shutil.copytree(PROJECT_ROOT / "images" / "mlp-classifier", folder)
    spec = yaml.safe_load((folder / "image.yaml").read_text())
    spec["name"] = "secret-check"
    (folder / "image.yaml").write_text(yaml.safe_dump(spec))
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    auth = base64.b64encode(f"kit:{SECRETS['docker-config']}".encode()).decode()
    (docker_config / "config.json").write_text(json.dumps({"auths": {registry.address: {"auth": auth}}}))
    env = {
        **os.environ,
        "DOCKER_CONFIG": str(docker_config),
        "REGISTRY_USERNAME": "alice",
        "REGISTRY_PASSWORD": SECRETS["REGISTRY_PASSWORD"],
        "BUILD_SECRET_TOKEN": SECRETS["BUILD_SECRET_TOKEN"],
    }
    try:
        built = run_cli("--base", "cpu", "build", str(folder), env=env)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        pushed = run_cli("push", str(folder), "--registry", registry.address, env=env)
        assert pushed.returncode == 0, pushed.stdout[-3000:] + pushed.stderr[-3000:]

        needles = [value.encode() for value in SECRETS.values()] + [auth.encode()]
        outputs = (built.stdout + built.stderr + pushed.stdout + pushed.stderr).encode()
        assert not [needle for needle in needles if needle in outputs]
        assert not [needle for needle in needles if needle in registry.log.read_bytes()]  # the registry's own log
        image = docker_client.images.get("secret-check:1.0.0")
        history = json.dumps(image.history()).encode()
        labels = json.dumps(image.labels).encode()
        config = json.dumps(image.attrs["Config"]).encode()
        assert not [needle for needle in needles if needle in history + labels + config]
        context = b"".join(path.read_bytes() for path in (BUILD_DIR / "secret-check").rglob("*") if path.is_file())
        assert not [needle for needle in needles if needle in context]
        assert image_bytes_contain(docker_client, "secret-check:1.0.0", needles) == []
    finally:
        for image in docker_client.images.list(name="secret-check"):
            for tag in image.tags:
                docker_client.images.remove(tag, force=True)
        for tag in [
            t for i in docker_client.images.list() for t in i.tags if t.startswith(f"{registry.address}/secret")
        ]:
            docker_client.images.remove(tag, force=True)
