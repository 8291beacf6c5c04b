"""Runtime tier: real supervisor, Gunicorn and tritonserver (from the wheel) processes on loopback; no Docker."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kit import PROJECT_ROOT
from kit.docker.containers import free_port
from kit.spec.bases import SHARED_NETWORK_TRITON_ARGS
from tests.model_factory import add_onnx_model, add_python_model, mlp_onnx
from tests.support.host_triton import ensure_host_triton, scoring_python

APPS = Path(__file__).parent / "apps"
READY_TIMEOUT_S = 90
STARTED_CHILD = re.compile(r"supervisor: started (\S+) \(pid (\d+)\)")


@dataclass
class Service:
    process: subprocess.Popen
    port: int
    triton_port: int
    log_path: Path
    repository: Path
    extra: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def child_pid(self, name: str) -> int | None:
        pids = [int(pid) for child, pid in STARTED_CHILD.findall(self.log()) if child == name]
        return pids[-1] if pids else None

    def request(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def score(self, payload: object, headers: dict | None = None) -> tuple[int, dict[str, str], object]:
        status, response_headers, body = self.request(
            "POST", "/score", json.dumps(payload), {"Content-Type": "application/json", **(headers or {})}
        )
        return status, response_headers, json.loads(body) if body else None

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"supervisor exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            try:
                if self.request("GET", "/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"scoring service not ready after {READY_TIMEOUT_S} s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for name in ("gunicorn", "tritonserver"):  # never leave our children behind, nor what they started
            pid = self.child_pid(name)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)  # each child leads its own process group (the supervisor's start)


StartService = Callable[..., Service]


@pytest.fixture(scope="session")
def host_tritonserver() -> Path:
    return ensure_host_triton()


@pytest.fixture(scope="session")
def model_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repository = tmp_path_factory.mktemp("runtime") / "models"
    add_onnx_model(repository, "mlp", mlp_onnx())
    add_python_model(repository, "doubler")
    return repository


def launch(
    host_tritonserver: Path, repository: Path, app: str, log_dir: Path, env: dict[str, str] | None = None
) -> Service:
    port, triton_port = free_port(), free_port()
    log_path = log_dir / f"{app}-{port}.log"
    environment = {
        **os.environ,
        "AML_APP_ROOT": str(APPS / app),
        "TRITON_MODEL_REPOSITORY": str(repository),
        "TRITONSERVER": str(host_tritonserver),
        "TRITON_HTTP_PORT": str(triton_port),
        "TRITON_ARGS": " ".join(SHARED_NETWORK_TRITON_ARGS),
        "SERVER_HOST": "127.0.0.1",
        "SERVER_PORT": str(port),
        "PYTHONPATH": str(PROJECT_ROOT),
        **(env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [scoring_python(), "-m", "scoring.supervisor"], env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    return Service(process, port, triton_port, log_path, repository)


@pytest.fixture
def start_service(host_tritonserver: Path, model_repository: Path, tmp_path: Path) -> Iterator[StartService]:
    started: list[Service] = []

    def start(app: str = "general", wait: bool = True, **env: str) -> Service:
        service = launch(host_tritonserver, model_repository, app, tmp_path, env)
        started.append(service)
        if wait:
            service.wait_ready()
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture(scope="module")
def general_service(
    host_tritonserver: Path, model_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    service = launch(
        host_tritonserver,
        model_repository,
        "general",
        tmp_path_factory.mktemp("logs"),
        {"MAX_REQUEST_BYTES": "100000", "SCORING_TIMEOUT_MS": "1500", "WORKER_COUNT": "2"},
    )
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()
