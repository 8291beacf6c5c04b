"""What the differential test cannot see through http.client: the debug switch, and HEAD answers on the wire."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

from kit import PROJECT_ROOT
from tests.compat.conftest import SCRIPTS, Server, start

COMMAND = [sys.executable, "-m", "gunicorn", "--config", "python:scoring.gunicorn_conf", "scoring.app:create_app()"]


def kit_server(script: str, log: Path, **env: str) -> Server:
    folder = SCRIPTS / script
    environment = {"AML_APP_ROOT": str(folder), "PYTHONPATH": str(PROJECT_ROOT), "SERVER_HOST": "127.0.0.1", **env}
    return start("kit runtime", COMMAND, environment, log, folder)


def test_debug_switch_shows_the_exception(tmp_path: Path) -> None:
    """SCORING_DEBUG_ERRORS=1 puts the exception and traceback in a 500 (the default is Azure ML's generic text)."""
    server = kit_server("script_exception", tmp_path / "kit.log", SCORING_DEBUG_ERRORS="1")
    try:
        server.wait_up()
        status, headers, body = server.request("POST", "/score", b'{"fail": "value"}', {"x-request-id": "dbg-1"})
        answer = json.loads(body)
        assert status == 500 and dict(headers)["x-ms-run-function-failed"] == "True"
        assert answer["message"].endswith("ValueError: the database password is hunter2")
        assert 'raise ValueError("the database password is hunter2")' in answer["traceback"]
    finally:
        server.stop()


def test_head_answers_carry_no_body_and_keep_the_connection(tmp_path: Path) -> None:
    server = kit_server("plain_json", tmp_path / "kit.log")
    try:
        server.wait_up()
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
            connection.sendall(
                b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            )
            data = b""
            while chunk := connection.recv(65536):
                data += chunk
        head, get = data.split(b"HTTP/1.1 ")[1:]
        assert head.startswith(b"200") and head.endswith(b"\r\n\r\n")  # headers only
        assert get.startswith(b"200") and get.endswith(b"\r\n\r\nHealthy")
    finally:
        server.stop()
