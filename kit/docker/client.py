"""Docker SDK access shared by the kit: one client factory and the image probes base resolution needs."""

from __future__ import annotations

import docker
from docker.errors import APIError, DockerException, ImageNotFound

PULL_READ_TIMEOUT_S = 15


def client(timeout_s: int = 600) -> docker.DockerClient:
    return docker.from_env(timeout=timeout_s)


class DockerImages:
    """ImageSource backed by the local engine; pulls fail fast (an unreachable registry errors at DNS)."""

    def __init__(self, docker_client: docker.DockerClient | None = None) -> None:
        self._client = docker_client or client()

    def has_image(self, reference: str) -> bool:
        try:
            self._client.images.get(reference)
        except ImageNotFound:
            return False
        return True

    def try_pull(self, reference: str) -> str | None:
        repository, _, tag = reference.rpartition(":")
        quick = client(timeout_s=PULL_READ_TIMEOUT_S).api
        try:
            for event in quick.pull(repository, tag=tag, stream=True, decode=True):
                if "error" in event:
                    return first_line(str(event["error"]))
        except (APIError, DockerException, OSError) as error:
            return first_line(getattr(error, "explanation", None) or str(error))
        finally:
            quick.close()
        return None


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
