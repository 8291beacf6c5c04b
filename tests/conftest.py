"""Shared fixtures. Tests that need Docker fail (never skip) when no engine answers. The session fails when a
process the suite started is still running at its end (tests/support/leftovers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest
from docker.errors import DockerException

from tests.support import leftovers
from tests.support.waiting import wait_until

# The image_folder fixture (a writable copy of an example image) for every tier.
pytest_plugins = ["tests.support.image_folders"]

# Before any fixture or test starts a process: every child inherits the marker.
SESSION_TOKEN = leftovers.mark_session()
# How long processes stopped by the last teardowns may take to be gone: a bound on a hang, not a measurement.
LEFTOVER_BOUND_S = 15


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Set up first, torn down last: after every other fixture has stopped what it started."""
    yield
    try:
        wait_until(lambda: not leftovers.left_behind(SESSION_TOKEN), LEFTOVER_BOUND_S)
    except AssertionError:
        remaining = leftovers.left_behind(SESSION_TOKEN)
        if remaining:
            listing = leftovers.describe(remaining)
            pytest.fail(f"the suite left {len(remaining)} process(es) behind:\n{listing}", pytrace=False)


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except DockerException as error:
        pytest.fail(f"no Docker engine answers ({error}); run `make engine` (as root) first", pytrace=False)
    return client
