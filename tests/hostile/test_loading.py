"""While models load, the supervisor answers probes itself; silent clients must not starve them (an orchestrator
would kill a container whose liveness probe times out during a long model load)."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

from tests.hostile.conftest import GENERAL_APP, start
from tests.model_factory import add_onnx_model, add_python_model, mlp_onnx

SILENT = 300
LOAD_SECONDS = 8


def test_silent_clients_do_not_starve_probes_while_models_load(tmp_path: Path) -> None:
    repository = tmp_path / "slow-models"
    add_onnx_model(repository, "mlp", mlp_onnx())
    add_python_model(repository, "slow", load_seconds=LOAD_SECONDS)
    service = start(repository, GENERAL_APP, tmp_path, wait=False)
    silent: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 30
        while True:  # until the supervisor has bound the port
            try:
                assert service.request("GET", "/")[0] == 200
                break
            except OSError:
                assert time.monotonic() < deadline, service.log()[-2000:]
                time.sleep(0.05)
        for _ in range(SILENT):
            silent.append(socket.create_connection(("127.0.0.1", service.port), timeout=5))  # and never a byte
        assert service.request("GET", "/")[0] == 200
        assert service.request("GET", "/ready")[0] == 503  # still loading: the supervisor answered, not Gunicorn
        service.wait_ready()
        assert service.score({"op": "echo"})[0] == 200
    finally:
        for connection in silent:
            with contextlib.suppress(OSError):
                connection.close()
        service.stop()
