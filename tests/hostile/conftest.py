"""Hostile-clients tier: the real supervisor, Gunicorn and tritonserver on loopback with the shipped defaults.

Attacks come from bench/attacks.py (the same code `make hostile` runs with the full numbers).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.attacks import score_request
from kit import PROJECT_ROOT
from kit.docker.containers import free_port
from kit.spec.bases import SHARED_NETWORK_TRITON_ARGS
from scoring.settings import Settings
from tests.model_factory import add_onnx_model, mlp_onnx
from tests.runtime.conftest import Service
from tests.support.host_triton import ensure_host_triton, scoring_python

APPS = Path(__file__).parent / "apps"
GENERAL_APP = PROJECT_ROOT / "tests" / "runtime" / "apps" / "general"
DEFAULTS = Settings.from_env({})
INFER = json.dumps({"op": "infer", "data": [[0.5] * 8]}).encode()
LEGITIMATE = score_request(INFER)

StartService = Callable[..., Service]


def start(
    repository: Path, app_root: Path, log_dir: Path, nofile: int | None = None, wait: bool = True, **env: str
) -> Service:
    """The scoring service with the shipped defaults except ports (and what `env` names); `nofile` caps its fds."""
    port, triton_port = free_port(), free_port()
    log_path = log_dir / f"{app_root.name}-{port}.log"
    environment = {
        **os.environ,
        "AML_APP_ROOT": str(app_root),
        "TRITON_MODEL_REPOSITORY": str(repository),
        "TRITONSERVER": str(ensure_host_triton()),
        "TRITON_HTTP_PORT": str(triton_port),
        "TRITON_ARGS": " ".join(SHARED_NETWORK_TRITON_ARGS),
        "SERVER_HOST": "127.0.0.1",
        "SERVER_PORT": str(port),
        "PYTHONPATH": str(PROJECT_ROOT),
        **env,
    }

    def limit_fds() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [scoring_python(), "-m", "scoring.supervisor"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=limit_fds,
        )
    service = Service(process, port, triton_port, log_path, repository)
    if not wait:
        return service
    try:
        service.wait_ready()
    except BaseException:
        service.stop()
        raise
    return service


@pytest.fixture(scope="session")
def hostile_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repository = tmp_path_factory.mktemp("hostile") / "models"
    add_onnx_model(repository, "mlp", mlp_onnx())
    return repository


@pytest.fixture(scope="session")
def defaults_service(hostile_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service for the attack and protocol tests: the general test app, every setting at its default."""
    service = start(hostile_repository, GENERAL_APP, tmp_path_factory.mktemp("logs"))
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def start_service(hostile_repository: Path, tmp_path: Path) -> Iterator[StartService]:
    started: list[Service] = []

    def run(app_root: Path, nofile: int | None = None, repository: Path | None = None, **env: str) -> Service:
        service = start(repository or hostile_repository, app_root, tmp_path, nofile, **env)
        started.append(service)
        return service

    yield run
    for service in started:
        service.stop()
