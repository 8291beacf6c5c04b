"""`make clean`: remove what the kit built and started (its containers, images, build/), nothing else."""

from __future__ import annotations

import shutil

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container
from docker.models.images import Image

from kit.docker.containers import OWNER_LABEL
from kit.paths import BUILD_DIR
from kit.progress import console

# Labels the kit's own templates put on what it builds.
KIT_IMAGE_LABELS = ("io.triton-kit.image", "io.triton-kit.triton-version")


def leftovers(docker_client: docker.DockerClient) -> tuple[list[Container], list[Image]]:
    """What `make clean` removes: containers with the owner label, images with it or with a kit template's label."""
    containers = docker_client.containers.list(all=True, filters={"label": OWNER_LABEL})
    images: dict[str, Image] = {}
    for label in (OWNER_LABEL, *KIT_IMAGE_LABELS):
        for image in docker_client.images.list(all=True, filters={"label": label}):
            images.setdefault(image.id, image)
    return containers, list(images.values())


def clean(docker_client: docker.DockerClient) -> None:
    containers, images = leftovers(docker_client)
    for container in containers:
        console.print(f"clean: removing container {container.name}")
        container.remove(force=True)
    for image in images:
        for tag in image.tags or [image.id]:
            console.print(f"clean: removing image {tag}")
            try:
                docker_client.images.remove(tag, force=True)
            except (NotFound, APIError) as error:
                console.print(f"clean: {tag}: {error}")
    if BUILD_DIR.exists():
        console.print(f"clean: removing {BUILD_DIR}")
        shutil.rmtree(BUILD_DIR)
