"""Requests parsed by llhttp (through httptools, compiled C), with the scoring port's limits applied while they arrive.

`RequestParser.feed(data)` parses what the socket gave and returns the requests it completed (several when a client
pipelines); the worker (scoring/http_worker.py) owns the socket, the deadlines and the answers. llhttp refuses what
could smuggle a request (Content-Length with Transfer-Encoding, duplicate or malformed Content-Length, folded
headers, bad chunk sizes, bare CR or NUL in a header); what it accepts but the port does not serve is refused here:
Transfer-Encoding other than `chunked` (501), HTTP/1.1 without Host (400), versions other than 1.x (505), an Expect
other than 100-continue (417), and the size limits (414, 431, 413). A method llhttp does not know (an extension
method such as BREW) is parsed as GET and handed on under its own name, so the app answers it as before (405).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

import httptools

from scoring.http_limits import Limits, Rejected

TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
MALFORMED = "malformed request; expected METHOD TARGET HTTP/1.1, then header lines"


@dataclass(slots=True)
class Request:
    method: str
    target: str
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool
    had_length: bool  # a Content-Length or chunked body was announced (even an empty one)


class RequestParser:
    """One connection's parser: feed it bytes, get whole requests back; raises Rejected for what it refuses."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.parser = httptools.HttpRequestParser(self)
        self.done: deque[Request] = deque()
        self.state = "idle"  # idle (between requests), head, body
        self.completed_in_feed = False
        self.head_start = b""  # the bytes of a head that began at a feed's start (for extension methods)
        self.method_override = ""
        self.collecting_line = b""  # an extension method's request line, until it is whole
        self.reset()

    def reset(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.header_bytes = 0
        self.body: list[bytes] = []
        self.body_size = 0
        self.encodings: list[bytes] = []
        self.has_host = False
        self.had_length = False
        self.expect = b""

    # What the worker asks between feeds.
    @property
    def expects_continue(self) -> bool:
        return self.state == "body" and self.expect == b"100-continue" and not self.body_size

    def feed(self, data: bytes) -> deque[Request]:
        if self.collecting_line:
            return self.collect_line(data)
        starts_idle = self.state == "idle"
        self.completed_in_feed = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            raise (error.__context__ if isinstance(error.__context__, Rejected) else Rejected(400, MALFORMED)) from None
        except httptools.HttpParserInvalidMethodError:
            if self.completed_in_feed:  # a pipelined request's method: its start is not known here
                raise Rejected(400, MALFORMED) from None
            return self.collect_line((b"" if starts_idle else self.head_start) + data)
        except httptools.HttpParserUpgrade:
            self.state = "upgraded"  # the request itself is complete (in self.done); the worker closes after it
        except httptools.HttpParserError:
            raise Rejected(400, MALFORMED) from None
        if self.state == "head":
            if self.completed_in_feed:  # a pipelined head began inside this feed: count it from the next one
                self.head_start = b""
            else:
                self.head_start = data if starts_idle else self.head_start + data
            if len(self.head_start) > self.limits.max_request_line + self.limits.max_header_bytes:
                raise self.limits.line_too_long() if not self.url_done() else self.limits.headers_too_large()
        return self.done

    def url_done(self) -> bool:
        return b"\n" in self.head_start[: self.limits.max_request_line + 2]

    def collect_line(self, data: bytes) -> deque[Request]:
        """An unknown method: wait for the whole request line, check the method is a token, parse it as GET."""
        line = (self.collecting_line + data).lstrip(b"\r\n")
        end = line.find(b"\n")
        if end < 0:
            if len(line) > self.limits.max_request_line:
                raise self.limits.line_too_long()
            self.collecting_line = line or b"\r\n"
            self.state = "head"  # the header deadline runs
            return self.done
        self.collecting_line = b""
        if end > self.limits.max_request_line:
            raise self.limits.line_too_long()
        method, space, rest = line.partition(b" ")
        if not space or not TOKEN.fullmatch(method):
            raise Rejected(400, MALFORMED)
        self.parser = httptools.HttpRequestParser(self)
        self.state = "idle"
        self.method_override = method.decode("latin-1")
        return self.feed(b"GET " + rest)

    # llhttp's callbacks.
    def on_message_begin(self) -> None:
        self.state = "head"
        self.reset()

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self.limits.max_request_line:
            raise self.limits.line_too_long()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.state != "head":
            return  # a chunked body's trailer fields: read and dropped, as before
        if len(self.headers) >= self.limits.max_header_count:
            raise self.limits.too_many_headers()
        self.header_bytes += len(name) + len(value) + 4
        if self.header_bytes > self.limits.max_header_bytes:
            raise self.limits.headers_too_large()
        key = name.lower()
        if key == b"transfer-encoding":
            self.encodings.append(value.lower())
        elif key == b"host":
            self.has_host = True
        elif key == b"content-length":
            self.had_length = True
        elif key == b"expect":
            self.expect = value.lower()
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        version = self.parser.get_http_version()
        if version not in ("1.1", "1.0"):
            raise (
                Rejected(400, MALFORMED) if version == "0.9" else Rejected(505, "only HTTP/1.0 and HTTP/1.1 are served")
            )
        if self.encodings and (self.encodings != [b"chunked"] or version != "1.1"):
            raise Rejected(501, "only Transfer-Encoding: chunked (HTTP/1.1) is supported")
        if version == "1.1" and not self.has_host:
            raise Rejected(400, "HTTP/1.1 requests must carry a Host header")
        if self.expect and self.expect != b"100-continue":
            raise Rejected(417, "only Expect: 100-continue is supported")
        if self.had_length:
            length = next(int(value) for name, value in self.headers if name.lower() == b"content-length")
            if length > self.limits.max_body_bytes:
                raise self.limits.body_too_large()
        if version == "1.0":
            self.expect = b""
        self.had_length = self.had_length or bool(self.encodings)
        self.state = "body"

    def on_body(self, chunk: bytes) -> None:
        self.body_size += len(chunk)
        if self.body_size > self.limits.max_body_bytes:
            raise self.limits.body_too_large()
        self.body.append(chunk)

    def on_message_complete(self) -> None:
        parser = self.parser
        method = self.method_override or parser.get_method().decode("latin-1")
        self.method_override = ""
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        version = "HTTP/" + parser.get_http_version()
        self.done.append(
            Request(method, self.url.decode("latin-1"), version, self.headers, body, parser.should_keep_alive(),
                    self.had_length)
        )  # fmt: skip
        self.state = "idle"
        self.completed_in_feed = True
