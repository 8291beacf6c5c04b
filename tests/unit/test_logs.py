"""JSON log lines: the request id of the request being handled, children's lines wrapped, bad settings named."""

from __future__ import annotations

import json
import logging

import pytest

from scoring.logs import REQUEST_ID, JsonFormatter, as_json_line
from scoring.settings import Settings, SettingsError


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("scoring", logging.ERROR, __file__, 1, message, None, None)


def test_lines_logged_during_a_request_carry_its_id_and_others_none() -> None:
    token = REQUEST_ID.set("req-42")
    try:
        inside = json.loads(JsonFormatter().format(record("run() failed")))
    finally:
        REQUEST_ID.reset(token)
    outside = json.loads(JsonFormatter().format(record("booted")))
    assert (inside["request_id"], inside["level"], inside["message"]) == ("req-42", "ERROR", "run() failed")
    assert outside["request_id"] is None


def test_triton_lines_keep_their_level_and_json_lines_pass_unchanged() -> None:
    triton = json.loads(as_json_line("tritonserver", 'E1129 15:02:04.526954 17109 server.cc:241] "boom"', pid=7))
    assert (triton["level"], triton["logger"], triton["pid"]) == ("ERROR", "tritonserver", 7)
    already = '{"message": "from a worker", "request_id": "r1"}'
    assert as_json_line("gunicorn", already) == already
    assert json.loads(as_json_line("gunicorn", "{not json"))["message"] == "{not json"


def test_new_settings_have_safe_defaults_and_named_errors() -> None:
    settings = Settings.from_env({})
    assert (settings.log_format, settings.drain_delay_s, settings.triton_metrics_port) == ("text", 0, 8002)
    with pytest.raises(SettingsError, match="LOG_FORMAT='xml' is not one of text, json"):
        Settings.from_env({"LOG_FORMAT": "xml"})
    with pytest.raises(SettingsError, match="DRAIN_DELAY='soon' is not an integer"):
        Settings.from_env({"DRAIN_DELAY": "soon"})
