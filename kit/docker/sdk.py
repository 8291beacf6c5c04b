"""The Docker SDK's names the rest of the kit uses (client, container and image types, errors), re-exported so
kit/docker stays the only package that imports the SDK (an import-linter contract checks it)."""

from __future__ import annotations

from docker import DockerClient
from docker.errors import APIError, ContainerError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.models.images import Image

__all__ = [
    "APIError",
    "Container",
    "ContainerError",
    "DockerClient",
    "DockerException",
    "Image",
    "ImageNotFound",
    "NotFound",
]
