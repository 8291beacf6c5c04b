"""The default Gunicorn worker: gevent's greenlet per connection, llhttp's parser, the port's limits and deadlines.

Each connection is served by one greenlet (so users' blocking run() and the shared Triton client work as under any
gevent worker): it reads with a deadline, feeds scoring/http_parser.py, calls the WSGI app for each whole request
(scoring/wsgi_bridge.py turns it into an environ and the answer into bytes) and writes the answer with one send when
it is whole. The deadlines (docs/hostile-clients.md): the first request's head within CLIENT_HEADER_TIMEOUT of the
connect (else 408), a later one's within CLIENT_HEADER_TIMEOUT of its first byte, the body within
CLIENT_BODY_TIMEOUT plus its size at CLIENT_BODY_MIN_RATE (else 408), an idle keep-alive connection closed silently
after KEEPALIVE_TIMEOUT. The body is buffered before the app runs, so a slow client never holds a Triton call.
WORKER_CLASS=gevent_pywsgi selects gevent's pywsgi instead (scoring/server.py), for comparison.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from gevent import Timeout
from gevent.server import StreamServer
from gunicorn.workers.ggevent import GeventResponse, GeventWorker

from scoring.http_limits import LINGER_S, ClientGone, ClientTimeout, Limits, Rejected, error_response
from scoring.http_parser import RequestParser
from scoring.sockets import send_all
from scoring.streaming import StreamAborted
from scoring.worker_common import DescriptorLog, WorkerLimits
from scoring.wsgi_bridge import INTERNAL_ERROR, Answer, environ

log = logging.getLogger("scoring.server")
READ_CHUNK = 1 << 16
SMALL_BODY = 1 << 16  # a body up to this size goes out in the same send as the head


class Connection:
    """One client connection, served until it closes, times out, or asks to close."""

    def __init__(self, server: CompiledServer, sock: socket.socket, address: Any) -> None:
        self.server = server
        self.sock = sock
        self.address = address
        self.limits: Limits = server.limits
        self.parser = RequestParser(self.limits)
        self.served = 0

    def serve(self) -> None:
        limits, parser, sock = self.limits, self.parser, self.sock
        message_started = time.monotonic()  # the first request's head is due within the header timeout of connect
        body_started = 0.0
        continue_sent = False
        try:
            while True:
                done = parser.done
                while done:
                    request = done.popleft()
                    if not self.respond(request) or parser.state == "upgraded":
                        return
                    continue_sent = False
                state = parser.state
                now = time.monotonic()
                if state == "idle" and self.served:
                    wait = limits.idle_timeout_s
                elif state in ("idle", "head"):
                    wait = message_started + limits.header_timeout_s - now
                else:
                    if not body_started:
                        body_started = now
                    if parser.expects_continue and not continue_sent:
                        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                        continue_sent = True
                    wait = limits.body_deadline(body_started, parser.body_size) - now
                if wait <= 0:
                    raise ClientTimeout
                sock.settimeout(wait)
                try:
                    data = sock.recv(READ_CHUNK)
                except TimeoutError:
                    if state == "idle" and self.served:
                        return  # an idle keep-alive connection: closed without an answer
                    raise ClientTimeout from None
                if not data:
                    if state == "idle":
                        return
                    raise ClientGone
                if state == "idle" and self.served:
                    message_started = time.monotonic()
                parser.feed(data)
                if parser.state != "body":
                    body_started = 0.0
        except ClientTimeout:
            self.reject(408, "the request was not received in time", linger=False)
        except Rejected as rejected:
            for request in list(parser.done):  # pipelined requests before the refused one are answered first
                if not self.respond(request):
                    return
            self.reject(rejected.status, str(rejected))
        except (ClientGone, OSError):
            return

    def respond(self, request: Any) -> bool:
        """Run the app for one request and send its answer; False when the connection must close."""
        self.served += 1
        server = self.server
        answer = Answer(request.version, request.keep_alive)
        env = environ(request, server.base_environ, self.sock, self.address)
        started = time.time()
        result = None
        sent_head = False
        sock = self.sock
        try:
            result = server.application(env, answer.start_response)
            if type(result) is list and len(result) == 1:  # the app's usual answer: one send with the head
                body = result[0]
                head = answer.head(len(body))
                if request.method == "HEAD" or answer.code in (204, 304) or answer.code < 200:
                    body = b""
                sent_head = True
                if len(body) <= SMALL_BODY:
                    send_all(sock, head + body)
                else:
                    send_all(sock, head)
                    send_all(sock, body)
            else:
                sent_head = self.stream(answer, result, request.method == "HEAD")
        except StreamAborted:
            return False  # logged by the app with its request id; the cut answer tells the client
        except OSError:
            return False
        except Exception:
            log.exception("the scoring app failed on %s %s", request.method, request.target.partition("?")[0])
            if not sent_head:
                with contextlib.suppress(OSError):
                    sock.sendall(INTERNAL_ERROR)
            return False
        finally:
            close: Callable[[], None] | None = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("closing the app's answer failed")
            if server.access_log:
                server.log_access(answer, request, env, started)
        return not answer.close

    def stream(self, answer: Answer, result: Any, head_only: bool) -> bool:
        """A body of unknown length or parts: the head goes with its first non-empty part, as pywsgi sends it."""
        sent_head = False
        length = sum(len(part) for part in result) if hasattr(result, "__len__") else None
        sock = self.sock
        for part in result:
            if not part:
                continue
            if not sent_head:
                head, sent_head = answer.head(length), True
                sock.sendall(head + (b"" if head_only else answer.frame(part)))
            elif not head_only:
                sock.sendall(answer.frame(part))
        if not sent_head:
            sock.sendall(answer.head(length if length is not None else 0 if not answer.status else None))
        if not head_only:
            end = answer.end()
            if end:
                sock.sendall(end)
        return True

    def reject(self, status: int, message: str, linger: bool = True) -> None:
        sock = self.sock
        try:
            sock.sendall(error_response(status, message))
            if linger:
                sock.shutdown(socket.SHUT_WR)
                with Timeout(LINGER_S, False):
                    sock.settimeout(LINGER_S)
                    while sock.recv(READ_CHUNK):
                        pass
        except OSError:
            pass


class CompiledServer(DescriptorLog, StreamServer):
    """gevent's StreamServer, a greenlet per connection, each served by a Connection."""

    limits: Limits

    def __init__(self, listener: Any, application: Any, spawn: Any, log: Any, handler_class: Any, environ: dict,
                 **ssl_args: Any) -> None:  # fmt: skip
        super().__init__(listener, spawn=spawn, **ssl_args)
        self.application = application
        self.gunicorn_log = log
        self.base_environ = dict(environ, SCRIPT_NAME="", **{"wsgi.input_terminated": True})
        name = listener.getsockname()
        if isinstance(name, tuple):
            self.base_environ.setdefault("SERVER_NAME", str(name[0]))
            self.base_environ.setdefault("SERVER_PORT", str(name[1]))
        else:
            self.base_environ.setdefault("SERVER_NAME", str(name))
            self.base_environ.setdefault("SERVER_PORT", "")
        self.access_log = bool(getattr(log, "access_log", None) and getattr(log.cfg, "accesslog", None))

    def handle(self, sock: socket.socket, address: Any) -> None:
        try:
            Connection(self, sock, address).serve()
        finally:
            sock.close()

    def log_access(self, answer: Answer, request: Any, env: dict, started: float) -> None:
        response = GeventResponse(answer.status.decode("latin-1"), answer.headers, None)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers]
        from datetime import timedelta

        self.gunicorn_log.access(response, headers, env, timedelta(seconds=time.time() - started))


class CompiledWorker(WorkerLimits, GeventWorker):
    """WORKER_CLASS=gevent (the default): gevent greenlets, llhttp parsing, the port's protections."""

    server_class = CompiledServer
    wsgi_handler = None

    def init_process(self) -> None:
        self.init_limits()
        CompiledServer.limits = Limits.from_settings(self.settings)
        super().init_process()
