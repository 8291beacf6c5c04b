"""Sample checks against a real HTTP server on a unix socket (the smoke test's transport): raw bodies with their
content type, GET queries, text / regex / binary / JSON answers, status and headers."""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from kit.spec.samples import Sample
from kit.verify.smoke import check_sample


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers what it received: the body's length and content type, or the query, as text, JSON or bytes."""

    def address_string(self) -> str:
        return "unix"

    def log_message(self, *_: object) -> None:
        pass

    def answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-ms-run-function-failed", "False")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        self.answer(200, "application/json", json.dumps(query).encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        content_type = self.headers["Content-Type"]
        if content_type == "application/octet-stream":
            self.answer(200, "text/html; charset=utf-8", f"{len(body)} bytes".encode())
        elif content_type == "image/png":
            self.answer(201, "image/png", body[::-1])
        else:
            self.answer(400, "application/json", b'{"message": "unexpected content type"}')


@pytest.fixture
def socket_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "scoring.sock"
    server = UnixHTTPServer(str(path), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "image.png").write_bytes(b"\x89PNG fake")
    (tmp_path / "reversed.bin").write_bytes(b"ekaf GNP\x89")
    return tmp_path


def check(socket_path: Path, folder: Path, **fields: object) -> list[str]:
    return check_sample(socket_path, folder, Sample.model_validate({"name": "s", **fields}))


def test_raw_body_is_sent_as_octet_stream_and_text_compared(socket_path: Path, folder: Path) -> None:
    assert check(socket_path, folder, request_file="image.png", expected_text="9 bytes") == []
    assert check(socket_path, folder, request_file="image.png", expected_text="8 bytes") == [
        "sample s: body: expected '8 bytes', got '9 bytes'"
    ]


def test_regex_must_match_the_whole_body(socket_path: Path, folder: Path) -> None:
    assert check(socket_path, folder, request_file="image.png", expected_regex=r"\d+ bytes") == []
    assert check(socket_path, folder, request_file="image.png", expected_regex=r"\d+") == [
        "sample s: body '9 bytes' does not match '\\\\d+'"
    ]


def test_binary_answer_status_and_content_type(socket_path: Path, folder: Path) -> None:
    fields = {"request_file": "image.png", "content_type": "image/png", "status": 201}
    assert check(socket_path, folder, **fields, expected_file="reversed.bin") == []
    (folder / "other.bin").write_bytes(b"other")
    problems = check(socket_path, folder, **fields, expected_file="other.bin")
    assert len(problems) == 1 and problems[0].startswith("sample s: body: expected 5 bytes (sha256 ")


def test_wrong_status_is_reported_with_the_body(socket_path: Path, folder: Path) -> None:
    problems = check(socket_path, folder, request={"a": 1}, expected={})
    assert problems == ['sample s: HTTP 400 (expected 200): b\'{"message": "unexpected content type"}\'']


def test_get_query_and_json_answer(socket_path: Path, folder: Path) -> None:
    assert check(socket_path, folder, method="GET", query={"label": 3}, expected={"label": ["3"]}) == []
    assert check(socket_path, folder, method="GET", query="a=1&a=2", expected={"a": ["1", "2"]}) == []


def test_expected_headers_exact_and_regex(socket_path: Path, folder: Path) -> None:
    fields = {"request_file": "image.png", "expected_text": "9 bytes"}
    headers = {"x-ms-run-function-failed": "False", "content-type": {"regex": "text/html.*"}}
    assert check(socket_path, folder, **fields, expected_headers=headers) == []
    expected_headers = {"Content-Type": "text/plain", "x-request-id": "1"}
    problems = check(socket_path, folder, **fields, expected_headers=expected_headers)
    assert problems == [
        "sample s: header Content-Type: expected 'text/plain', got 'text/html; charset=utf-8'",
        "sample s: header x-request-id missing (expected '1')",
    ]
