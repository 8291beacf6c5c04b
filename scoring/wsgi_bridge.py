"""A parsed request as a WSGI environ, and the app's answer as HTTP/1.1 bytes (what gevent's pywsgi did, less its cost).

Kept as users see them: the environ keys Gunicorn and pywsgi set (headers as HTTP_*, duplicates joined with ",",
names with underscores dropped so they cannot alias dashed ones, the body de-chunked in wsgi.input, REMOTE_ADDR,
RAW_URI), and the answer's framing: a Date header, Content-Length for a body of known length, chunked framing for a
stream (scoring/streaming.py) on HTTP/1.1, none on HTTP/1.0 (the close ends it), no length or framing on 1xx, 204
and 304, Connection on HTTP/1.0 answers and on every answer after which the connection closes (pywsgi left it out on
HTTP/1.1, so clients such as wrk found out only by a failed read). Header names and values with CR or LF are refused
(answer splitting).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from email.utils import formatdate
from typing import Any

from scoring.http_parser import Request

NO_BODY = (204, 304)
INTERNAL_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    b"Content-Length: 21\r\n\r\nInternal Server Error"
)


class HttpDate:
    """The Date header's value, formatted once a second."""

    second = -1
    value = b""

    @classmethod
    def now(cls) -> bytes:
        second = int(time.time())
        if second != cls.second:
            cls.value, cls.second = formatdate(second, usegmt=True).encode(), second
        return cls.value


def unquote_path(path: str) -> str:
    if "%" not in path:
        return path
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(path).decode("latin-1")


def add_headers(env: dict[str, Any], headers: Iterable[tuple[str, str]]) -> None:
    """Request headers into the WSGI environ (both HTTP layers): HTTP_<NAME>, repeats joined, names with underscores
    dropped (they would alias dashes), Transfer-Encoding dropped (the body arrives de-chunked)."""
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if "_" in name or key == "TRANSFER_ENCODING":
            continue
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            env[key] = value
            continue
        key = "HTTP_" + key
        if key in env:
            env[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
        else:
            env[key] = value


def environ(request: Request, base: dict[str, Any], sock: object, address: object) -> dict[str, Any]:
    env = base.copy()
    path, _, query = request.target.partition("?")
    env["REQUEST_METHOD"] = request.method
    env["PATH_INFO"] = unquote_path(path)
    env["QUERY_STRING"] = query
    env["SERVER_PROTOCOL"] = request.version
    env["RAW_URI"] = request.target
    env["gunicorn.sock"] = sock
    if isinstance(address, tuple):
        env["REMOTE_ADDR"] = str(address[0])
        env["REMOTE_PORT"] = str(address[1])
    add_headers(env, ((name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers))
    if request.body or request.had_length:
        env["CONTENT_LENGTH"] = str(len(request.body))
    env["wsgi.input"] = io.BytesIO(request.body)
    return env


class Answer:
    """One request's answer: `start_response` for the app, then `head()` and `frame()` for the worker."""

    __slots__ = ("chunked", "close", "code", "headers", "length_given", "status", "version")

    def __init__(self, version: str, keep_alive: bool) -> None:
        self.version = version
        self.close = not keep_alive
        self.status = b""
        self.code = 0
        self.headers: list[tuple[str, str]] = []
        self.length_given = False
        self.chunked = False

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        for name, value in headers:
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"carriage return or newline in the answer's header {name!r}")
        if "\r" in status or "\n" in status:
            raise ValueError("carriage return or newline in the answer's status")
        self.status = status.encode("latin-1")
        self.code = int(status.split(" ", 1)[0])
        self.headers = headers

    def head(self, body_length: int | None) -> bytes:
        """The status line and headers; `body_length` None for a stream (framed by chunks, or by the close)."""
        connection = date = False
        parts = [b"HTTP/1.1 ", self.status, b"\r\n"]
        for name, value in self.headers:
            key = name.lower()
            if key == "content-length":
                self.length_given = True
            elif key == "connection":
                connection = True
                if value.lower() == "close":
                    self.close = True
            elif key == "date":
                date = True
            parts += (name.encode("latin-1"), b": ", value.encode("latin-1"), b"\r\n")
        if not date:
            parts += (b"Date: ", HttpDate.now(), b"\r\n")
        code = self.code
        if code >= 200 and code not in NO_BODY and not self.length_given:
            if body_length is not None:
                parts += (b"Content-Length: ", str(body_length).encode(), b"\r\n")
            elif self.version == "HTTP/1.1":
                self.chunked = True
                parts.append(b"Transfer-Encoding: chunked\r\n")
            else:
                self.close = True  # HTTP/1.0: the stream ends with the connection's close
        if not connection and (self.close or self.version == "HTTP/1.0"):  # RFC 9112 9.6: say so before closing
            parts.append(b"Connection: close\r\n" if self.close else b"Connection: keep-alive\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)

    def frame(self, chunk: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(chunk), chunk) if self.chunked else chunk

    def end(self) -> bytes:
        return b"0\r\n\r\n" if self.chunked else b""
