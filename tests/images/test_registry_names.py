"""REGISTRY= as users write it: the kit's check agrees with the Docker engine's own reference parser, and a refused
name comes with the fix."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

import docker
import pytest
from docker.errors import APIError

from kit.release.reference import ReferenceError, parse_registry

pytestmark = pytest.mark.docker

NAMES = [
    "127.0.0.1:5000",
    "127.0.0.1:5000/team",
    "registry.test:5000/a/b",
    "localhost/ns",
    "localhost:5000",
    "ghcr.io/my-org",
    "Ghcr.IO/my-org",
    "team--x",
    "team--x/sub",
    "myregistry.azurecr.io/ml",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team",
    "harbor.example.com/project/sub.team",
    "a_b/c__d",
    "registry-1.docker.io/lib",
    "ghcr.io/My-Org",
    "MyOrg",
    "http://127.0.0.1:5000",
    "ghcr.io/org:1.0",
    "ghcr.io/org@sha256:abc",
    "-bad.io/ns",
    "bad-.io/ns",
    "host.io/_ns",
    "host.io/ns_",
    "host.io/a___b",
    "host.io/a..b",
    "host.io//b",
    "host name.io/ns",
    "host.io:port/ns",
]


@pytest.fixture(scope="module")
def tiny_image(docker_client: docker.DockerClient) -> Iterator[str]:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    docker_client.api.import_image_from_data(data.getvalue(), repository="kit-reference-check", tag="1")
    image = docker_client.images.get("kit-reference-check:1")
    yield str(image.id)
    docker_client.images.remove("kit-reference-check:1", force=True)


def engine_accepts(docker_client: docker.DockerClient, image: str, registry: str) -> bool:
    """Docker's own parser (the engine's tag endpoint) on `<registry>/name`."""
    repository = f"{registry}/kit-reference-check"
    try:
        docker_client.api.tag(image, repository, "t")
    except APIError:
        return False
    docker_client.images.remove(f"{repository}:t", noprune=True)
    return True


def kit_accepts(registry: str) -> bool:
    try:
        parse_registry(registry)
    except ReferenceError:
        return False
    return True


def test_the_kit_accepts_exactly_what_the_engine_accepts(docker_client, tiny_image: str) -> None:
    verdicts = {name: (kit_accepts(name), engine_accepts(docker_client, tiny_image, name)) for name in NAMES}
    disagreements = {name: verdict for name, verdict in verdicts.items() if verdict[0] != verdict[1]}
    assert disagreements == {}, "(kit, engine) verdicts differ"
    # The list has both kinds, so neither side can pass by accepting or refusing everything.
    assert {kit for kit, _ in verdicts.values()} == {True, False}


@pytest.mark.parametrize(
    ("registry", "fix"),
    [
        ("ghcr.io/My-Org", "use REGISTRY=ghcr.io/my-org"),
        ("http://127.0.0.1:5000/team", "use REGISTRY=127.0.0.1:5000/team"),
        ("ghcr.io/org:1.0", "names no tag or digest; use REGISTRY=ghcr.io/org"),
        ("host.io/a___b", "try REGISTRY=host.io/a-b"),
    ],
)
def test_a_refused_name_says_how_to_fix_it(registry: str, fix: str) -> None:
    with pytest.raises(ReferenceError) as refused:
        parse_registry(registry)
    assert fix in str(refused.value)


def test_docker_hub_namespaces_and_hosts_are_told_apart() -> None:
    assert parse_registry("team--x").host == "docker.io"
    assert parse_registry("team--x").repository("img") == "team--x/img"
    assert parse_registry("localhost:5000/ns").host == "localhost:5000"
    assert parse_registry("ghcr.io/my-org").repository("img") == "my-org/img"
