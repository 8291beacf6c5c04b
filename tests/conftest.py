"""Shared fixtures. Tests that need Docker fail (never skip) when no engine answers."""

from __future__ import annotations

import docker
import pytest
from docker.errors import DockerException

# The image_folder fixture (a writable copy of an example image) for every tier.
pytest_plugins = ["tests.support.image_folders"]


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except DockerException as error:
        pytest.fail(f"no Docker engine answers ({error}); run `make engine` (as root) first", pytrace=False)
    return client
