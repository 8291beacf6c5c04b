"""Fixtures for the docker tier: the cpu base (built once per session) and Triton containers from it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from kit.base.cpu_base import build_cpu_base
from kit.docker.build import BuildResult
from kit.docker.containers import free_port, running
from kit.spec.bases import CPU, SHARED_NETWORK_TRITON_ARGS
from scoring import triton_options


@pytest.fixture(scope="session")
def cpu_base(docker_client: docker.DockerClient) -> BuildResult:
    return build_cpu_base(docker_client)


@dataclass
class TritonContainer:
    container: Container
    port: int

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def endpoint(self, path: str) -> str:
        return f"http://{self.url}{path}"

    def logs(self) -> str:
        return self.container.logs().decode(errors="replace")


StartTriton = Callable[[Path], AbstractContextManager[TritonContainer]]


@pytest.fixture
def start_triton(docker_client: docker.DockerClient, cpu_base: BuildResult) -> StartTriton:
    """Start tritonserver from the cpu base on loopback, serving a host model repository (read-only)."""

    @contextmanager
    def start(repository: Path) -> Iterator[TritonContainer]:
        port = free_port()
        command = [
            "tritonserver",
            "--model-repository=/models",
            *triton_options.load(CPU.triton_version).auto_complete_args(),
            f"--http-port={port}",
            "--http-address=127.0.0.1",
            *SHARED_NETWORK_TRITON_ARGS,
        ]
        volumes = {str(repository): {"bind": "/models", "mode": "ro"}}
        with running(docker_client, CPU.image, command=command, volumes=volumes) as container:
            yield TritonContainer(container, port)

    return start
