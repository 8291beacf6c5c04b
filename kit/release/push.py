"""`make push REGISTRY=host[:port][/ns]`: push only tested images, then verify each digest from the registry."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

import docker
from docker.errors import APIError, ImageNotFound

from kit.errors import PushFailed
from kit.progress import console
from kit.release.record import TestedRecord, record_path

REGISTRY = re.compile(r"^[A-Za-z0-9.-]+(:\d+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")


class PushError(PushFailed):
    pass


@dataclass(frozen=True)
class Pushed:
    reference: str
    digest: str


def check_registry(registry: str) -> str:
    registry = registry.strip().rstrip("/")
    if not REGISTRY.match(registry):
        raise PushError(f"REGISTRY={registry!r} is not host[:port][/namespace], e.g. 127.0.0.1:5000/team")
    return registry


def tested_image(docker_client: docker.DockerClient, name: str) -> tuple[str, list[str]]:
    """The image id and tags recorded by a passing smoke test, if they still name the same image."""
    record = TestedRecord.read(name)
    if record is None:
        path = record_path(name)
        raise PushError(f"{name}: no passing smoke test on record ({path}); run `make build IMAGES={name}` first")
    for tag in record.tags:
        try:
            current = docker_client.images.get(tag).id
        except ImageNotFound:
            raise PushError(f"{name}: {tag} is gone; rebuild with `make build IMAGES={name}`") from None
        if current != record.image_id:
            raise PushError(f"{name}: {tag} now names an image that was not tested; rebuild it")
    return record.image_id, record.tags


def auth_from_environment() -> dict[str, str] | None:
    """REGISTRY_USERNAME/REGISTRY_PASSWORD when set; otherwise the Docker config's credentials are used."""
    username, password = os.environ.get("REGISTRY_USERNAME"), os.environ.get("REGISTRY_PASSWORD")
    return {"username": username, "password": password} if username and password else None


def push_reference(docker_client: docker.DockerClient, repository: str, tag: str, registry: str) -> str:
    digest = ""
    try:
        stream = docker_client.api.push(
            repository, tag=tag, stream=True, decode=True, auth_config=auth_from_environment()
        )
        for event in stream:
            if "error" in event:
                raise PushError(f"push to {registry} failed for {repository}:{tag}: {event['error']}")
            digest = event.get("aux", {}).get("Digest", digest)
    except APIError as error:
        raise PushError(f"push to {registry} failed for {repository}:{tag}: {error.explanation or error}") from None
    if not digest:
        raise PushError(f"push to {registry} for {repository}:{tag} reported no digest")
    return digest


def verify(docker_client: docker.DockerClient, reference: str, digest: str, registry: str) -> None:
    try:
        remote = docker_client.images.get_registry_data(reference, auth_config=auth_from_environment())
    except APIError as error:
        raise PushError(f"{registry}: cannot read back {reference}: {error.explanation or error}") from None
    if remote.id != digest:
        raise PushError(f"{registry}: {reference} has digest {remote.id}, but the push reported {digest}")


def record_pushed(name: str, reference: str, digest: str) -> None:
    """Adds the verified digest to the tested record, so `make manifests` can name the image by digest."""
    record = TestedRecord.read(name)
    if record is not None:
        replace(record, digests={**record.digests, reference: digest}).write(name)


def push_images(docker_client: docker.DockerClient, registries_by_image: dict[str, list[str]]) -> list[Pushed]:
    """Push each tested image to its registries; every image and registry is checked before anything is pushed."""
    targets = {}
    for name, registries in registries_by_image.items():
        if not registries:
            raise PushError(
                f"{name}: no registry: make push REGISTRY=host[:port][/ns] or list `registries:` in its image.yaml"
            )
        targets[name] = [check_registry(registry) for registry in registries]
    tested = {name: tested_image(docker_client, name) for name in registries_by_image}
    pushed = []
    for name, (image_id, tags) in tested.items():
        image = docker_client.images.get(image_id)
        for registry in targets[name]:
            for tag in tags:
                version = tag.rpartition(":")[2]
                repository = f"{registry}/{name}"
                image.tag(repository, version)
                console.print(f"push: {repository}:{version}")
                digest = push_reference(docker_client, repository, version, registry)
                verify(docker_client, f"{repository}:{version}", digest, registry)
                console.print(f"push: {repository}:{version} verified {digest}")
                record_pushed(name, f"{repository}:{version}", digest)
                pushed.append(Pushed(f"{repository}:{version}", digest))
    return pushed
