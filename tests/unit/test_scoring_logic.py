"""Pure logic of the scoring runtime: settings, error mapping, body limits, Triton address, the compat shim."""

from __future__ import annotations

import importlib.util
import io
import json

import pytest
from tritonclient.utils import InferenceServerException

from scoring import triton_options
from scoring.entry_script import COMPAT_DIR
from scoring.errors import RequestTooLarge, ScoringTimeout, classify, read_body
from scoring.responses import BadRequest
from scoring.settings import Settings, SettingsError
from scoring.triton import TritonClient, triton_url

SETTINGS = Settings.from_env({})


def test_defaults_follow_azure_ml() -> None:
    assert (SETTINGS.server_port, SETTINGS.worker_count, SETTINGS.worker_class) == (5001, 1, "gevent_llhttp")
    assert SETTINGS.max_request_bytes == 100 * 2**20
    assert SETTINGS.triton_url == "127.0.0.1:8000"
    assert SETTINGS.triton_release == triton_options.newest() == "2.53.0"


@pytest.mark.parametrize(
    ("variable", "value", "text"),
    [
        ("WORKER_COUNT", "two", "WORKER_COUNT='two' is not an integer"),
        ("SERVER_PORT", "0", "SERVER_PORT=0 must be >= 1"),
        (
            "WORKER_CLASS",
            "eventlet",
            "WORKER_CLASS='eventlet' is not one of gevent_llhttp, gevent_pywsgi, gevent, gthread, sync",
        ),
    ],
)
def test_bad_settings_name_the_variable(variable: str, value: str, text: str) -> None:
    with pytest.raises(SettingsError, match=text):
        Settings.from_env({variable: value})


def test_triton_args_are_shell_split() -> None:
    settings = Settings.from_env({"TRITON_ARGS": "--log-verbose=1 --model-control-mode 'explicit'"})
    assert settings.triton_args == ("--log-verbose=1", "--model-control-mode", "explicit")


@pytest.mark.parametrize(
    ("error", "status", "fragment"),
    [
        (json.JSONDecodeError("Expecting value", "", 0), 400, "not valid JSON"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), 400, "UTF-8"),
        (BadRequest("need 8 numbers"), 400, "need 8 numbers"),
        (InferenceServerException("unexpected shape for input 'x'", status="400"), 400, "unexpected shape"),
        (InferenceServerException("overloaded", status="503"), 503, "not available"),
        (ConnectionRefusedError(111, "Connection refused"), 503, "not reachable"),
        (ScoringTimeout(250), 500, "Scoring timeout after 250 ms"),
        (RequestTooLarge(10), 413, "MAX_REQUEST_BYTES=10"),
        (KeyError("data"), 500, "An unexpected error occurred in scoring script"),
    ],
)
def test_errors_map_to_status_and_message(error: BaseException, status: int, fragment: str) -> None:
    assert classify(error, SETTINGS)[0] == status
    assert fragment in classify(error, SETTINGS)[1]


def test_exception_text_reaches_the_client_only_with_the_debug_switch() -> None:
    error = KeyError("secret-column")
    assert "secret-column" not in classify(error, SETTINGS)[1]
    debug = Settings.from_env({"SCORING_DEBUG_ERRORS": "1"})
    assert "KeyError: 'secret-column'" in classify(error, debug)[1]


def test_body_limit_checks_the_declared_length_before_reading() -> None:
    class Unreadable(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise AssertionError("body was read")

    with pytest.raises(RequestTooLarge):
        read_body({"wsgi.input": Unreadable(), "CONTENT_LENGTH": "11"}, limit=10)
    assert read_body({"wsgi.input": io.BytesIO(b"0123456789"), "CONTENT_LENGTH": "10"}, limit=10) == b"0123456789"


def test_body_limit_applies_without_a_declared_length() -> None:
    with pytest.raises(RequestTooLarge):
        read_body({"wsgi.input": io.BytesIO(b"x" * 200_000)}, limit=100_000)
    assert read_body({"wsgi.input": io.BytesIO(b"abc")}, limit=3) == b"abc"


def test_seed_address_follows_triton_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRITON_URL", "127.0.0.1:9100")
    assert triton_url("localhost:8000") == "127.0.0.1:9100"
    assert triton_url(None) == "127.0.0.1:9100"
    assert triton_url("triton.internal:8000") == "triton.internal:8000"
    monkeypatch.delenv("TRITON_URL")
    assert triton_url("localhost:8000") == "localhost:8000"


def test_compat_module_exports_the_shared_client() -> None:
    spec = importlib.util.spec_from_file_location("compat_tritonhttpclient", COMPAT_DIR / "tritonhttpclient.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.InferenceServerClient is TritonClient
    assert module.InferInput.__module__.startswith("tritonclient.http")
