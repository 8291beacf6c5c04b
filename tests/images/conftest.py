"""Images tier: real builds of the examples on the embedded cpu base, compose-started containers (pytest-docker,
docker-compose v1), and a real registry (Debian's docker-registry) on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from kit.context.render import BUILD_DIR
from kit.docker.containers import free_port, http_status
from kit.pipeline import ImageOutcome, build_all
from kit.run.local_run import has_default_bridge
from tests.images.registry_servers import CertificateAuthority, TlsRegistry

EXAMPLE = "mlp-classifier"


@pytest.fixture(scope="session")
def built_examples(docker_client: docker.DockerClient) -> dict[str, ImageOutcome]:
    outcomes = build_all(docker_client, [], "cpu")
    return {outcome.plan.spec.name: outcome for outcome in outcomes}


@pytest.fixture(scope="session")
def docker_compose_command() -> str:
    return "docker-compose"  # v1 from Debian


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    return ["up -d"]  # images come from the kit's build, never from compose


@pytest.fixture(scope="session")
def compose_ports() -> dict[str, int]:
    return {"SERVER_PORT": free_port()}


@pytest.fixture(scope="session")
def compose_socket_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("compose-socket")
    folder.chmod(0o777)  # the image's uid 1000 creates the socket here
    return folder


@pytest.fixture(scope="session")
def docker_compose_file(
    built_examples: dict[str, ImageOutcome],
    compose_ports: dict[str, int],
    compose_socket_dir: Path,
    docker_client: docker.DockerClient,
) -> str:
    """The compose file `make run` would choose here: published port with a default bridge, else network_mode none."""
    assert not built_examples[EXAMPLE].error, built_examples[EXAMPLE].error
    for name, port in compose_ports.items():
        os.environ[name] = str(port)  # compose substitutes ${SERVER_PORT} etc. from the environment
    os.environ["SCORING_SOCKET_DIR"] = str(compose_socket_dir)
    variant = "docker-compose.yml" if has_default_bridge(docker_client) else "docker-compose.no-bridge.yml"
    # The rendered file, pinned to the image this session built: on a shared engine another run may retag
    # <name>:<version> meanwhile.
    outcome = built_examples[EXAMPLE]
    assert outcome.build is not None
    rendered = (BUILD_DIR / EXAMPLE / variant).read_text()
    tag = f"image: {outcome.plan.spec.name}:{outcome.plan.spec.version}\n"
    assert tag in rendered, rendered
    pinned = compose_socket_dir.parent / variant
    pinned.write_text(rendered.replace(tag, f"image: {outcome.build.image_id}\n"))
    return str(pinned)


REGISTRY_CONFIG = """version: 0.1
storage:
  filesystem:
    rootdirectory: {root}
http:
  addr: 127.0.0.1:{port}
"""


class Registry:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        config = root / "config.yml"
        config.write_text(REGISTRY_CONFIG.format(root=root / "data", port=self.port))
        self.log = root / "registry.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while http_status(f"http://{self.address}/v2/") != 200:
            assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    server = Registry(tmp_path)
    try:
        yield server
    finally:
        server.stop()


# Registries as users meet them (TLS with a private CA, htpasswd auth): see tests/images/registry_servers.py.
PUSH_IMAGE = "push-check"  # one small tested image (a copy of mlp-classifier) for every registry test
REGISTRY_USERS = {"alice": "pw-alice-5e1d07c3", "bob": "pw-bob-8a44f0b2"}  # planted: searched for in every output


@pytest.fixture(scope="session")
def push_image(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The folder of `push-check`: mlp-classifier built and smoke-tested under its own name (on a shared engine other
    runs retag the examples)."""
    from tests.images.test_examples import copy_example

    folder = copy_example(tmp_path_factory.mktemp("push-image"), PUSH_IMAGE)
    outcome = build_all(docker_client, [str(folder)], "cpu")[0]
    assert not outcome.error, outcome.error
    yield str(folder)
    for image in docker_client.images.list():
        for tag in image.tags:
            if tag.startswith(f"{PUSH_IMAGE}:") or f"/{PUSH_IMAGE}:" in tag:
                docker_client.images.remove(tag, noprune=True)


@pytest.fixture(scope="session")
def certificate_authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("private-ca"))


@pytest.fixture(scope="session")
def auth_registries(
    certificate_authority: CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TlsRegistry, TlsRegistry]]:
    """Two TLS registries the engine trusts through certs.d: alice may push to the first, bob to the second."""
    first = TlsRegistry(
        tmp_path_factory.mktemp("registry-a"), certificate_authority, {"alice": REGISTRY_USERS["alice"]}
    )
    second = TlsRegistry(tmp_path_factory.mktemp("registry-b"), certificate_authority, {"bob": REGISTRY_USERS["bob"]})
    try:
        for registry in (first, second):
            registry.trust()
        yield first, second
    finally:
        first.close()
        second.close()
