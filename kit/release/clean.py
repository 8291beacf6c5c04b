"""`make clean`: remove what the kit built and started (its containers, images, build/), nothing else."""

from __future__ import annotations

import shutil

import docker
from docker.errors import APIError, NotFound

from kit.context.render import BUILD_DIR
from kit.docker.containers import OWNER_LABEL
from kit.progress import console

# Labels the kit's own templates put on what it builds.
KIT_IMAGE_LABELS = ("io.triton-kit.image", "io.triton-kit.triton-version")


def clean(docker_client: docker.DockerClient) -> None:
    for container in docker_client.containers.list(all=True, filters={"label": OWNER_LABEL}):
        console.print(f"clean: removing container {container.name}")
        container.remove(force=True)
    seen: set[str] = set()
    for label in KIT_IMAGE_LABELS:
        for image in docker_client.images.list(filters={"label": label}):
            if image.id in seen:
                continue
            seen.add(image.id)
            for tag in image.tags or [image.id]:
                console.print(f"clean: removing image {tag}")
                try:
                    docker_client.images.remove(tag, force=True)
                except (NotFound, APIError) as error:
                    console.print(f"clean: {tag}: {error}")
    if BUILD_DIR.exists():
        console.print(f"clean: removing {BUILD_DIR}")
        shutil.rmtree(BUILD_DIR)
