"""Run kit containers (host networking by default), wait for an HTTP route, and always clean up."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import docker
from docker.errors import NotFound
from docker.models.containers import Container

from kit.docker.triton_log import explain
from kit.errors import SmokeTestFailed

OWNER_LABEL = "io.triton-kit.owner"


class ContainerExited(SmokeTestFailed):
    pass


class ReadinessTimeout(SmokeTestFailed):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_tail(container: Container, lines: int = 30) -> str:
    try:
        return container.logs(tail=lines).decode(errors="replace")
    except NotFound:
        return "(container is gone)"


def log_report(container: Container, event: str) -> str:
    """`event` with Triton's reason for each model it failed to load first, then the log tail."""
    try:
        log = container.logs().decode(errors="replace")
    except NotFound:
        return f"{event} (container is gone, no log)"
    return explain(log, event)


def http_status(url: str, timeout_s: float = 2.0) -> int | None:
    """Status code of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return None


def wait_until(container: Container, ready: Callable[[], bool], what: str, timeout_s: float) -> float:
    """Seconds until `ready()` holds; fails fast with Triton's reasons and the log tail if the container exits."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if ready():
            return time.monotonic() - started
        container.reload()
        if container.status in ("exited", "dead"):
            code = container.attrs["State"]["ExitCode"]
            raise ContainerExited(
                log_report(container, f"container {container.name} exited ({code}) before {what} was ready")
            )
        time.sleep(0.25)
    raise ReadinessTimeout(log_report(container, f"{what} not ready after {timeout_s:.0f} s in {container.name}"))


def wait_for_http_ok(container: Container, url: str, timeout_s: float) -> float:
    """Seconds until `url` answers 200 (see wait_until)."""
    return wait_until(container, lambda: http_status(url) == 200, url, timeout_s)


@contextmanager
def running(docker_client: docker.DockerClient, image: str, **options: Any) -> Iterator[Container]:
    """A detached container (host network unless `network_mode` says otherwise), removed on exit whatever happened."""
    labels = {OWNER_LABEL: "triton-kit", **options.pop("labels", {})}
    options.setdefault("network_mode", "host")
    container = docker_client.containers.run(image, detach=True, labels=labels, **options)
    try:
        yield container
    finally:
        with suppress(NotFound):
            container.remove(force=True)
