"""SCORING_UNIX_SOCKET: the scoring app also listens on a unix socket (how the host reaches a network_mode=none
container), from the loading phase through Gunicorn, and the socket is gone after a stop."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from kit.verify.transport import request, status_of
from tests.runtime.conftest import StartService


def test_unix_socket_serves_the_same_routes_as_the_port(start_service: StartService, tmp_path: Path) -> None:
    socket_path = tmp_path / "run" / "scoring.sock"
    socket_path.parent.mkdir()
    service = start_service("general", SCORING_UNIX_SOCKET=str(socket_path))
    assert stat.S_IMODE(socket_path.stat().st_mode) == 0o666
    assert status_of(socket_path, "/") == 200 and status_of(socket_path, "/ready") == 200
    body = json.dumps({"op": "infer", "data": [[0.1] * 8]}).encode()
    by_port = service.request("POST", "/score", body, {"Content-Type": "application/json"})
    by_socket = request(socket_path, "POST", "/score", body, {"Content-Type": "application/json"})
    assert by_socket[0] == by_port[0] == 200 and json.loads(by_socket[2]) == json.loads(by_port[2])
    service.stop()
    assert service.process.returncode == 0
    assert not socket_path.exists()
