"""WORKER_CLASS=gevent_pywsgi: gevent's pywsgi under Gunicorn, hardened against slow, malformed, excessive clients.

The default worker is scoring/http_worker.py (llhttp's parser, measured cheaper: docs/benchmarks.md); this one stays
selectable for comparison, with the same limits (scoring/http_limits.py).

What nginx in front of an app server would do, done in-process (an extra hop measured dearer; README "Hostile
clients"): the request line and headers must arrive within CLIENT_HEADER_TIMEOUT and the whole body within
CLIENT_BODY_TIMEOUT (plus the time CLIENT_BODY_MIN_RATE allows for its size), else 408 and close; an idle
keep-alive connection is closed after KEEPALIVE_TIMEOUT. The body is buffered before the app runs, so a slow client
never holds a Triton call. Limits answer 414 (request line), 431 (header bytes or count) and 413 (body); framing that
could smuggle a request (Content-Length with Transfer-Encoding, duplicate or malformed Content-Length, folded
headers, bad chunk sizes) answers 400 and closes. Nothing here waits on a client without a deadline.
"""

from __future__ import annotations

import io
import logging
import re
import socket
import time

from gevent import Timeout
from gevent.pywsgi import Input
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler, PyWSGIServer

from scoring.http_limits import LINGER_S, ClientGone, ClientTimeout, Limits, Rejected, error_response
from scoring.streaming import StreamAborted
from scoring.worker_common import DescriptorLog, WorkerLimits
from scoring.wsgi_bridge import add_headers, unquote_path

log = logging.getLogger("scoring.server")
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
VERSION = re.compile(rb"HTTP/(\d)\.(\d)")
DIGITS = re.compile(rb"[0-9]{1,18}")
FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
READ_CHUNK = 1 << 16


class Headers:
    """The parsed header fields, with the slice of the email.message API that pywsgi and Gunicorn use."""

    __slots__ = ("fields",)

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self.fields:
            if key.lower() == name:
                return value
        return default

    def items(self) -> list[tuple[str, str]]:
        return self.fields


class ProtectedHandler(PyWSGIHandler):
    limits: Limits  # set per worker process by ProtectedWorker

    def handle(self) -> None:
        self.served = 0
        self.connected_at = time.monotonic()
        super().handle()

    def handle_one_request(self):  # type: ignore[no-untyped-def]
        """One request: None closes the connection, True waits for the next (pywsgi's contract)."""
        if self.rfile.closed:
            return None
        limits = self.limits
        try:
            # The first request must start within the header timeout; later ones within the idle timeout.
            first_wait = limits.idle_timeout_s if self.served else limits.header_timeout_s
            buffered = self.wait_readable(first_wait)
            if not buffered:
                return None
            started = time.monotonic() if self.served else self.connected_at
            if b"\r\n\r\n" in buffered or b"\n\n" in buffered:
                head = self.read_head()  # all in the buffer: parsing cannot wait on the client
            else:
                with Timeout(max(0.0, started + limits.header_timeout_s - time.monotonic()), ClientTimeout):
                    head = self.read_head()
            if head is None:
                return None
            method, target, version, fields, head_bytes = head
            self.apply_head(method, target, version, fields)
            body = self.read_body(len(buffered) - head_bytes)
        except ClientTimeout:
            return self.reject(408, "the request was not received in time", linger=False)
        except Rejected as rejected:
            return self.reject(rejected.status, str(rejected))
        except (ClientGone, OSError):
            return None
        self.served += 1
        self.environ = self.get_environ()
        self.environ["wsgi.input"] = io.BytesIO(body)
        self.wsgi_input = Input(self.rfile, 0)  # what pywsgi discards after the answer: nothing, the body was read
        if body or self.content_length is not None:
            self.environ["CONTENT_LENGTH"] = str(len(body))
        self.application = self.server.application
        self.handle_one_response()
        if self.close_connection or self.rfile.closed:
            return None
        return True

    def wait_readable(self, seconds: float) -> bytes:
        """What the client has sent so far (at least one byte), or b"" when it closed or stayed silent."""
        try:
            with Timeout(seconds, ClientTimeout):
                return self.rfile.peek(1)
        except ClientTimeout:
            if not self.served:
                raise  # a connection that never sent a request gets its 408 too
            return b""

    def read_head(self) -> tuple[bytes, bytes, tuple[int, int], list[tuple[str, str]], int] | None:
        limits = self.limits
        readline = self.rfile.readline
        line = readline(limits.max_request_line + 1)
        consumed = len(line)
        if line in (b"\r\n", b"\n"):  # RFC 9112 2.2: ignore one empty line before a request
            line = readline(limits.max_request_line + 1)
            consumed += len(line)
        if not line.endswith(b"\n"):
            if len(line) > limits.max_request_line:
                raise limits.line_too_long()
            return None  # closed mid-line
        parts = line.rstrip(b"\r\n").split(b" ")
        if len(parts) != 3 or not TOKEN.fullmatch(parts[0]) or not parts[1]:
            raise Rejected(400, "malformed request line; expected METHOD TARGET HTTP/1.1")
        method, target, version_text = parts
        version = VERSION.fullmatch(version_text)
        if version is None:
            raise Rejected(400, "malformed HTTP version in the request line")
        if version.group(1) != b"1":
            raise Rejected(505, "only HTTP/1.0 and HTTP/1.1 are served")
        budget = limits.max_header_bytes
        fields: list[tuple[str, str]] = []
        while True:
            line = readline(budget + 1)
            if not line.endswith(b"\n"):
                if len(line) > budget:
                    raise limits.headers_too_large()
                return None
            budget -= len(line)
            consumed += len(line)
            if line in (b"\r\n", b"\n"):
                return method, target, (1, int(version.group(2))), fields, consumed
            if len(fields) >= limits.max_header_count:
                raise limits.too_many_headers()
            name, colon, value = line.partition(b":")
            value = value.strip(b" \t\r\n")
            # TOKEN also refuses obs-fold and space before the colon; FIELD_VALUE refuses bare CR and NUL.
            if not colon or not TOKEN.fullmatch(name) or not FIELD_VALUE.fullmatch(value):
                raise Rejected(400, "malformed request header line")
            fields.append((name.decode("latin-1"), value.decode("latin-1")))

    def apply_head(self, method: bytes, target: bytes, version: tuple[int, int], fields: list[tuple[str, str]]) -> None:
        """Validate the framing and set the attributes pywsgi's response side reads."""
        lengths, encodings, connection, expect, host = [], [], "", "", False
        for name, value in fields:
            key = name.lower()
            if key == "content-length":
                lengths.append(value)
            elif key == "transfer-encoding":
                encodings.append(value.lower())
            elif key == "connection":
                connection = value.lower()
            elif key == "expect":
                expect = value.lower()
            elif key == "host":
                host = True
        if version == (1, 1) and not host:
            raise Rejected(400, "HTTP/1.1 requests must carry a Host header")
        if encodings and lengths:
            raise Rejected(400, "both Content-Length and Transfer-Encoding; send only one")
        if len(lengths) > 1:
            raise Rejected(400, "more than one Content-Length header")
        if encodings and (encodings != ["chunked"] or version != (1, 1)):
            raise Rejected(501, "only Transfer-Encoding: chunked (HTTP/1.1) is supported")
        if lengths and not DIGITS.fullmatch(lengths[0].encode("latin-1")):
            raise Rejected(400, "Content-Length must be a non-negative whole number")
        if expect and expect != "100-continue":
            raise Rejected(417, "only Expect: 100-continue is supported")
        self.command = method.decode("latin-1")
        self.path = target.decode("latin-1")
        self.request_version = f"HTTP/1.{version[1]}"
        self.requestline = f"{self.command} {self.path} {self.request_version}"
        self.headers = Headers(fields)
        self.content_length = int(lengths[0]) if lengths else None
        self.chunked = bool(encodings)
        self.expect_continue = expect == "100-continue" and version == (1, 1)
        self.response_length = 0
        if version == (1, 1):
            self.close_connection = connection == "close"
        else:
            self.close_connection = connection != "keep-alive"

    def read_body(self, already_buffered: int) -> bytes:
        limits = self.limits
        length = self.content_length
        if not self.chunked and not length:
            return b""
        if length is not None and length > limits.max_body_bytes:
            raise limits.body_too_large()
        parts, size = [], 0
        if length is not None and length <= already_buffered:
            # It arrived with the head: read1 takes what is buffered without waiting on the client.
            body = self.rfile.read1(length)
            if len(body) == length:
                return body
            parts, size = [body], len(body)
        elif self.expect_continue:
            self.socket.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        stream = Input(self.rfile, None, chunked_input=True) if self.chunked else self.rfile
        started = time.monotonic()
        while length is None or size < length:
            remaining = limits.body_deadline(started, size) - time.monotonic()
            if remaining <= 0:
                raise ClientTimeout
            want = READ_CHUNK if length is None else min(READ_CHUNK, length - size)
            try:
                with Timeout(remaining, ClientTimeout):
                    chunk = stream.read(want) if self.chunked else stream.read1(want)
            except (ValueError, OSError) as error:  # pywsgi's verdicts on chunk sizes and trailers (OSErrors)
                raise Rejected(400, "malformed chunked body") from error
            if not chunk:
                if length is None:
                    break
                raise ClientGone
            size += len(chunk)
            if size > limits.max_body_bytes:
                raise limits.body_too_large()
            parts.append(chunk)
        return b"".join(parts)

    def reject(self, status: int, message: str, linger: bool = True) -> None:
        self.status = str(status)
        self.close_connection = True
        try:
            self.socket.sendall(error_response(status, message))
            if linger:
                self.socket.shutdown(socket.SHUT_WR)
                with Timeout(LINGER_S, False):
                    while self.socket.recv(READ_CHUNK):
                        pass
        except OSError:
            pass
        return None

    def get_environ(self) -> dict:
        env = self.server.get_environ()
        path, _, query = self.path.partition("?")
        env["REQUEST_METHOD"] = self.command
        env["SCRIPT_NAME"] = ""
        env["PATH_INFO"] = unquote_path(path)
        env["QUERY_STRING"] = query
        env["SERVER_PROTOCOL"] = self.request_version
        env["RAW_URI"] = self.path
        env["gunicorn.sock"] = self.socket
        if isinstance(self.client_address, tuple):
            env["REMOTE_ADDR"] = str(self.client_address[0])
            env["REMOTE_PORT"] = str(self.client_address[1])
        add_headers(env, self.headers.fields)
        env["wsgi.input_terminated"] = True
        return env

    def finalize_headers(self) -> None:
        """A 1xx answer, like pywsgi's 204 and 304, gets neither a Content-Length nor chunked framing. A streamed
        answer to an HTTP/1.0 client has no framing at all: the connection's close ends it, even under keep-alive."""
        code = self.code
        if 100 <= code < 200:
            self.code = 204
        try:
            super().finalize_headers()
        finally:
            self.code = code
        if self.request_version == "HTTP/1.0" and self.provided_content_length is None and code >= 200:
            self.close_connection = self.close_connection or code not in (204, 304)

    def _log_error(self, t, v, tb):  # type: ignore[no-untyped-def]
        """A streamed answer that failed after its first chunk: the app logged it with its request id; pywsgi then
        closes the connection without the closing chunk (as Gunicorn does), so the client sees a cut answer."""
        if not issubclass(t, StreamAborted):
            super()._log_error(t, v, tb)

    def log_request(self) -> None:
        if getattr(self.server.log, "access_log_enabled", True):  # skip building the record when nobody logs it
            super().log_request()


class ProtectedServer(DescriptorLog, PyWSGIServer):
    pass


class ProtectedWorker(WorkerLimits, GeventPyWSGIWorker):
    server_class = ProtectedServer
    wsgi_handler = ProtectedHandler

    def init_process(self) -> None:
        self.init_limits()
        ProtectedHandler.limits = Limits.from_settings(self.settings)
        super().init_process()
