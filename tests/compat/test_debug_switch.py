"""The documented debug switch: SCORING_DEBUG_ERRORS=1 puts the exception and traceback in a 500 answer (the
differential test shows the default: Azure ML's generic message only)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kit import PROJECT_ROOT
from tests.compat.conftest import SCRIPTS, start


def test_debug_switch_shows_the_exception(tmp_path: Path) -> None:
    folder = SCRIPTS / "script_exception"
    env = {"AML_APP_ROOT": str(folder), "PYTHONPATH": str(PROJECT_ROOT), "SERVER_HOST": "127.0.0.1",
           "SCORING_DEBUG_ERRORS": "1"}  # fmt: skip
    command = [sys.executable, "-m", "gunicorn", "--config", "python:scoring.gunicorn_conf", "scoring.app:create_app()"]
    server = start("kit runtime (debug)", command, env, tmp_path / "kit.log", folder)
    try:
        server.wait_up()
        status, headers, body = server.request("POST", "/score", b'{"fail": "value"}', {"x-request-id": "dbg-1"})
        answer = json.loads(body)
        assert status == 500 and dict(headers)["x-ms-run-function-failed"] == "True"
        assert answer["message"].endswith("ValueError: the database password is hunter2")
        assert 'raise ValueError("the database password is hunter2")' in answer["traceback"]
    finally:
        server.stop()
