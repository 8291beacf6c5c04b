"""The Azure ML request/response stand-ins as pure logic (tests/compat compares them with Azure ML's server)."""

from __future__ import annotations

import io
import signal
import time

import pytest

from scoring.aml_request import AMLRequest, MultiDict
from scoring.deadline import RunDeadline
from scoring.errors import ScoringTimeout
from scoring.responses import AMLResponse


def request(body: bytes = b"", query: str = "", **headers: str) -> AMLRequest:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/score", "QUERY_STRING": query, "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)), "HTTP_HOST": "h:1", "wsgi.url_scheme": "http"}  # fmt: skip
    for name, value in headers.items():
        key = name.upper() if name.upper() in ("CONTENT_TYPE",) else f"HTTP_{name.upper()}"
        environ[key] = value
    return AMLRequest(environ, max_body_bytes=1 << 20)


def test_request_is_parsed_only_when_asked() -> None:
    environ = {"REQUEST_METHOD": "POST", "wsgi.input": None}  # reading the body would fail
    assert AMLRequest(environ, 10).method == "POST"


def test_headers_are_case_insensitive_and_named_as_werkzeug_names_them() -> None:
    headers = request(b"x", CONTENT_TYPE="text/plain", X_CUSTOM_ID="7").headers
    assert headers["content-type"] == headers.get("Content-Type") == "text/plain"
    assert "X-CUSTOM-ID" in headers and dict(headers)["X-Custom-Id"] == "7"


def test_args_keep_every_value_and_convert_on_request() -> None:
    args = request(query="k=1&k=2&n=x").args
    assert (args["k"], args.getlist("k"), args.get("n", 5, type=int), args.get("absent", "d")) == (
        "1",
        ["1", "2"],
        5,
        "d",
    )


def test_json_multipart_and_urls() -> None:
    body = (b'--B\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\nContent-Type: image/png\r\n\r\n'
            b"\x00\x01\r\n--B\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nv\r\n--B--\r\n")  # fmt: skip
    upload = request(body, "q=1", CONTENT_TYPE="multipart/form-data; boundary=B")
    assert upload.files["f"].filename == "a.bin" and upload.files["f"].read() == b"\x00\x01"
    assert upload.form["t"] == "v" and upload.full_path == "/score?q=1" and upload.url == "http://h:1/score?q=1"
    assert request(b'{"a": 1}', CONTENT_TYPE="application/json").json == {"a": 1}
    assert request(b'{"a": 1}', CONTENT_TYPE="text/plain").get_json(silent=True) is None
    with pytest.raises(ValueError):
        request(b'{"a": 1}', CONTENT_TYPE="text/plain").get_json()


def test_multidict_behaves_like_a_mapping_of_first_values() -> None:
    values = MultiDict([("a", 1), ("a", 2), ("b", 3)])
    assert dict(values) == {"a": 1, "b": 3} and values.to_dict(flat=False) == {"a": [1, 2], "b": [3]}


@pytest.mark.parametrize(
    ("response", "content_type", "body"),
    [
        (AMLResponse("hi", 200), "text/html; charset=utf-8", b"hi"),
        (AMLResponse(b"\xff", 200, {"Content-Type": "image/jpeg"}), "image/jpeg", b"\xff"),
        (AMLResponse({"a": 1}, 201, json_str=True), "application/json", b'{"a": 1}'),
        (AMLResponse(None, 202), "application/json", b"{}"),
    ],
)
def test_aml_response_bodies(response: AMLResponse, content_type: str, body: bytes) -> None:
    headers = response.header_items()
    assert [value for name, value in headers if name.lower() == "content-type"] == [content_type]
    assert response.encoded() == body and ("x-ms-run-function-failed", "False") in headers


def test_aml_response_sends_a_comma_separated_value_as_repeated_headers() -> None:
    headers = AMLResponse("", 204, {"X-Tag": "a, b"}, run_function_failed=True).header_items()
    assert [value for name, value in headers if name == "X-Tag"] == ["a", "b"]
    assert ("x-ms-run-function-failed", "True") in headers


def test_a_cpu_bound_run_is_interrupted_at_the_deadline() -> None:
    previous = signal.getsignal(signal.SIGALRM)
    try:
        deadline = RunDeadline(timeout_ms=200, gevent_patched=False)
        with pytest.raises(ScoringTimeout, match="Scoring timeout after 200 ms"), deadline():
            while True:  # never yields, never sleeps
                time.monotonic()
        assert not deadline.pending and not deadline.armed  # nothing left to watch: no alarm pending
        with deadline():  # the next run() starts afresh and arms the alarm again
            pass
        assert not deadline.pending and deadline.armed  # left armed: it fires once, finds nothing, and stops
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
