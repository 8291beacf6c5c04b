"""Protocol abuse gets a clean answer (or a clean close), never a hang or a crash; the worker survives all of it."""

from __future__ import annotations

import contextlib
import re
import socket

import pytest

from tests.hostile.conftest import DEFAULTS, INFER
from tests.runtime.conftest import Service

STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")
ECHO = b'{"op": "echo"}'
HEAD = b"POST /score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"


def exchange(port: int, data: bytes, timeout_s: float = 15.0) -> bytes:
    """Send `data` on a fresh connection and read until the server closes it (or `timeout_s` passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as connection:
        # The server may answer and close before it read everything; its answer is still readable.
        with contextlib.suppress(OSError):
            connection.sendall(data)
        chunks = []
        try:
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
        return b"".join(chunks)


def statuses(answer: bytes) -> list[int]:
    return [int(code) for code in STATUS.findall(answer)]


CASES = {
    "content-length and transfer-encoding": (
        HEAD + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "duplicate content-length": (HEAD + b"Content-Length: 14\r\nContent-Length: 14\r\n\r\n" + ECHO, 400),
    "negative content-length": (HEAD + b"Content-Length: -1\r\n\r\n", 400),
    "non-numeric content-length": (HEAD + b"Content-Length: 1e3\r\n\r\n", 400),
    "invalid chunk size": (HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + ECHO + b"\r\n0\r\n\r\n", 400),
    "unsupported transfer-encoding": (HEAD + b"Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
    "folded header": (HEAD + b"X-Folded: a\r\n  b\r\nContent-Length: 14\r\n\r\n" + ECHO, 400),
    "http/1.1 without host": (b"GET / HTTP/1.1\r\n\r\n", 400),
    "absurd method": (b"BREW / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 405),
    "method with control bytes": (b"GE\x01T / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    "huge method": (b"X" * 20_000 + b" / HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    "request line too long": (b"GET /" + b"a" * (DEFAULTS.max_request_line_bytes + 10) + b" HTTP/1.1\r\n\r\n", 414),
    "1 MB header line": (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 2**20 + b"\r\n\r\n", 431),
    "too many headers": (
        b"GET / HTTP/1.1\r\nHost: t\r\n"
        + b"".join(b"X-H%d: v\r\n" % i for i in range(DEFAULTS.max_header_count + 1))
        + b"\r\n",
        431,
    ),
    "body over the limit": (HEAD + b"Content-Length: %d\r\n\r\n{" % (DEFAULTS.max_request_bytes + 1), 413),
    "http/2 request line": (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
    "garbage version": (b"GET / HTTQ/1.1\r\nHost: t\r\n\r\n", 400),
    "garbage line": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    "http/1.0 without host": (b"GET / HTTP/1.0\r\n\r\n", 200),
    "http/0.9 request line": (b"GET /\r\n\r\n", 400),
    "bare LF line endings": (b"GET / HTTP/1.1\nHost: t\n\n", 400),
    "space before a header's colon": (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
    "NUL in a header value": (b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n", 400),
    "bare CR in a header value": (b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n", 400),
    "upgrade is answered, then the connection closes": (
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        200,
    ),
    "empty line before the request": (b"\r\n" + HEAD + b"Content-Length: 14\r\nConnection: close\r\n\r\n" + ECHO, 200),
    "valid chunked body": (
        HEAD
        + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n"
        + ECHO[:5]
        + b"\r\n9\r\n"
        + ECHO[5:]
        + b"\r\n0\r\n\r\n",
        200,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_protocol_abuse_gets_a_clean_answer(defaults_service: Service, case: str) -> None:
    request, expected = CASES[case]
    answer = exchange(defaults_service.port, request)
    assert statuses(answer) == [expected], answer[:300]
    assert defaults_service.score({"op": "echo"})[0] == 200


def test_pipelined_requests_are_answered_in_order(defaults_service: Service) -> None:
    requests = [
        b"GET / HTTP/1.1\r\nHost: t\r\nx-request-id: first\r\n\r\n",
        HEAD + b"x-request-id: second\r\nContent-Length: %d\r\n\r\n" % len(INFER) + INFER,
        HEAD + b"x-request-id: third\r\nContent-Length: 21\r\n\r\n" + b'{"op": "bad_request"}',
        b"GET / HTTP/1.1\r\nHost: t\r\nx-request-id: fourth\r\nConnection: close\r\n\r\n",
    ]
    answer = exchange(defaults_service.port, b"".join(requests))
    assert statuses(answer) == [200, 200, 400, 200]
    assert re.findall(rb"x-request-id: (\w+)", answer) == [b"first", b"second", b"third", b"fourth"]


def test_expect_100_continue(defaults_service: Service) -> None:
    with socket.create_connection(("127.0.0.1", defaults_service.port), timeout=15) as connection:
        connection.sendall(HEAD + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(ECHO))
        assert connection.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        connection.sendall(ECHO)
        assert statuses(connection.recv(65536)) == [200]


def test_expect_100_continue_over_the_limit_is_refused_before_the_body(defaults_service: Service) -> None:
    request = HEAD + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (DEFAULTS.max_request_bytes + 1)
    assert statuses(exchange(defaults_service.port, request)) == [413]


def test_the_worker_never_crashed(defaults_service: Service) -> None:
    log = defaults_service.log()
    assert "Traceback" not in log
    assert log.count("Booting worker") == 1
