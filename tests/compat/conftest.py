"""Differential tier: Azure ML's own server (azureml-inference-server-http, in .venv-bench) and the kit's runtime
(Gunicorn + scoring.app, as in an image) run the same entry scripts against one host tritonserver; no Docker."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kit import PROJECT_ROOT
from kit.docker.containers import free_port
from kit.spec.bases import SHARED_NETWORK_TRITON_ARGS
from tests.model_factory import add_onnx_model, add_python_model, mlp_onnx
from tests.support.host_triton import ensure_host_triton

HERE = Path(__file__).parent
SCRIPTS = HERE / "scripts"
PEER_SITE = HERE / "peer_site"
PEER_VENV = PROJECT_ROOT / ".venv-bench"
START_TIMEOUT_S = 120
SCORING_TIMEOUT_MS = 1500
MAX_REQUEST_BYTES = 1_000_000
# What the peer's environment lacks for scripts that use tritonclient, lent from the kit's environment.
LENT_TO_PEER = ("tritonclient", "tritonhttpclient", "geventhttpclient", "gevent", "greenlet", "zope", "ml_dtypes",
                "rapidjson", "brotli", "_brotli")  # fmt: skip


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log_path: Path

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def wait_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with contextlib.suppress(OSError):
                if self.request("GET", "/")[0] == 200:
                    return
            time.sleep(0.3)
        raise AssertionError(f"{self.name} did not start:\n{self.log_path.read_text(errors='replace')[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own session: the server and its workers only
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(name: str, command: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> Server:
    port = free_port()
    environment = {**os.environ, **env, "SERVER_PORT": str(port)}
    command = [part.replace("{port}", str(port)) for part in command]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
        )
    return Server(name, process, port, log_path)


@pytest.fixture(scope="session")
def triton_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One tritonserver (mlp and doubler models) that the scripts on both servers call."""
    launcher = ensure_host_triton()
    repository = tmp_path_factory.mktemp("compat") / "models"
    add_onnx_model(repository, "mlp", mlp_onnx())
    add_python_model(repository, "doubler")
    port = free_port()
    log_path = repository.parent / "tritonserver.log"
    command = [str(launcher), f"--model-repository={repository}", "--strict-model-config=false", f"--http-port={port}",
               "--http-address=127.0.0.1", *SHARED_NETWORK_TRITON_ARGS]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    triton = Server("tritonserver", process, port, log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            with contextlib.suppress(OSError):
                if triton.request("GET", "/v2/health/ready")[0] == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"tritonserver did not start:\n{log_path.read_text(errors='replace')[-4000:]}")
            time.sleep(0.3)
        yield f"127.0.0.1:{port}"
    finally:
        triton.stop()


@pytest.fixture(scope="session")
def peer_lent_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("peer-site")
    kit_site = Path(next(path for path in sys.path if path.endswith("site-packages")))
    for entry in kit_site.iterdir():
        if entry.name.split(".")[0] in LENT_TO_PEER and not entry.name.endswith(("dist-info", "-stubs")):
            (site / entry.name).symlink_to(entry)
    return site


@pytest.fixture(scope="session")
def pairs(
    triton_url: str, peer_lent_site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[Server, Server]]]:
    """Lazily started (peer, kit) servers per script, shared by all cases of the session."""
    started: dict[str, tuple[Server, Server]] = {}
    logs = tmp_path_factory.mktemp("compat-logs")

    class Pairs(dict):
        def __missing__(self, script: str) -> tuple[Server, Server]:
            folder = SCRIPTS / script
            common = {
                "AML_APP_ROOT": str(folder),
                "AZUREML_ENTRY_SCRIPT": "score.py",
                "AZUREML_MODEL_DIR": str(folder / "azureml-models"),
                "TRITON_URL": triton_url,
                "SCORING_TIMEOUT_MS": str(SCORING_TIMEOUT_MS),
                "WORKER_COUNT": "1",
            }
            peer = start(
                "azureml-inference-server-http",
                [str(PEER_VENV / "bin" / "azmlinfsrv"), "--entry_script", str(folder / "score.py"), "--port", "{port}"],
                {**common, "PYTHONPATH": f"{PEER_SITE}:{peer_lent_site}"},
                logs / f"{script}-peer.log",
                folder,
            )
            kit = start(
                "kit runtime",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    "python:scoring.gunicorn_conf",
                    "scoring.app:create_app()",
                ],
                {
                    **common,
                    "PYTHONPATH": str(PROJECT_ROOT),
                    "SERVER_HOST": "127.0.0.1",
                    "MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
                },
                logs / f"{script}-kit.log",
                folder,
            )
            started[script] = (peer, kit)
            peer.wait_up()
            kit.wait_up()
            self[script] = (peer, kit)
            return peer, kit

    try:
        yield Pairs()
    finally:
        for peer, kit in started.values():
            peer.stop()
            kit.stop()
