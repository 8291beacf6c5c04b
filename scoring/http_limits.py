"""The scoring port's limits on clients, and the answers the HTTP layer gives by itself (docs/hostile-clients.md).

The request line and headers must arrive within CLIENT_HEADER_TIMEOUT and the whole body within CLIENT_BODY_TIMEOUT
(plus the time CLIENT_BODY_MIN_RATE allows for its size), else 408 and close; an idle keep-alive connection is
closed after KEEPALIVE_TIMEOUT. Limits answer 414 (request line), 431 (header bytes or count) and 413 (body).
Both HTTP layers (scoring/http_worker.py, the default, and scoring/server.py, gevent's pywsgi) enforce these.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass

from scoring.settings import Settings

LINGER_S = 2.0  # after an error answer, read what the client still sends so the answer is not lost to a reset
FD_RESERVE = 64  # descriptors kept for Triton connections, logs and the app beside client sockets
REASONS = {**http.client.responses, 413: "Payload Too Large"}  # RFC 9110's names


@dataclass(frozen=True)
class Limits:
    header_timeout_s: float
    body_timeout_s: float
    body_min_rate: int
    idle_timeout_s: float
    max_request_line: int
    max_header_bytes: int
    max_header_count: int
    max_body_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            header_timeout_s=settings.client_header_timeout_s,
            body_timeout_s=settings.client_body_timeout_s,
            body_min_rate=settings.client_body_min_rate,
            idle_timeout_s=settings.keepalive_timeout_s,
            max_request_line=settings.max_request_line_bytes,
            max_header_bytes=settings.max_header_bytes,
            max_header_count=settings.max_header_count,
            max_body_bytes=settings.max_request_bytes,
        )

    def line_too_long(self) -> Rejected:
        return Rejected(414, f"the request line is longer than MAX_REQUEST_LINE_BYTES={self.max_request_line}")

    def headers_too_large(self) -> Rejected:
        return Rejected(431, f"the request headers are larger than MAX_HEADER_BYTES={self.max_header_bytes}")

    def too_many_headers(self) -> Rejected:
        return Rejected(431, f"more than MAX_HEADER_COUNT={self.max_header_count} request headers")

    def body_too_large(self) -> Rejected:
        return Rejected(413, f"request body is larger than MAX_REQUEST_BYTES={self.max_body_bytes}")

    def body_deadline(self, started: float, received: int) -> float:
        """When the body must be complete, given what has arrived so far (a slow but steady upload keeps going)."""
        return started + self.body_timeout_s + received / self.body_min_rate


class Rejected(Exception):
    """A request answered by the HTTP layer itself (status, message), after which the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ClientTimeout(Exception):
    pass


class ClientGone(Exception):
    pass


def answer(status: int, content_type: str, body: bytes, extra: str = "") -> bytes:
    """A whole HTTP/1.1 answer that closes its connection (the layer's own answers and the supervisor's)."""
    reason = REASONS.get(status, "")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: close\r\n\r\n"
    ).encode() + body


def error_response(status: int, message: str) -> bytes:
    return answer(status, "application/json", json.dumps({"message": message}).encode())
