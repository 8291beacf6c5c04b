"""`make run`'s loopback relay: 127.0.0.1:<port> carried byte for byte to a unix socket (a real HTTP server)."""

from __future__ import annotations

import http.server
import os
import resource
import socketserver
import threading
from pathlib import Path

from kit.docker.containers import free_port
from kit.run.relay import LoopbackRelay
from kit.verify.transport import request, status_of


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class Length(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the server keeps each connection until the client closes it, through the relay

    def address_string(self) -> str:
        return "unix"

    def log_message(self, *_: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = f"{len(body)} bytes, last {body[-1]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


def test_relay_carries_large_bodies_and_closes_when_nothing_listens(tmp_path: Path) -> None:
    socket_path = tmp_path / "scoring.sock"
    port = free_port()
    with LoopbackRelay(port, socket_path):
        assert status_of(port, "/ready") is None  # the app's socket does not exist yet: the connection is closed
        server = UnixHTTPServer(str(socket_path), Length)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            body = bytes(range(256)) * 4096  # 1 MiB
            for _ in range(3):
                status, _headers, answer = request(port, "POST", "/score", body)
                assert (status, answer) == (200, b"1048576 bytes, last 255")
        finally:
            server.shutdown()
            server.server_close()


def test_relay_works_in_a_process_with_more_than_1024_descriptors(tmp_path: Path) -> None:
    """select() refuses descriptors above 1023; a long-lived process (or a test session) passes that."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1200
    assert hard >= wanted, f"RLIMIT_NOFILE hard limit {hard} is below {wanted}"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted + 100), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(wanted)]
    try:
        socket_path = tmp_path / "scoring.sock"
        server = UnixHTTPServer(str(socket_path), Length)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with LoopbackRelay(free_port(), socket_path) as relay:
                status, _headers, answer = request(relay.port, "POST", "/score", b"x" * 1000)
                assert (status, answer) == (200, b"1000 bytes, last 120")
        finally:
            server.shutdown()
            server.server_close()
    finally:
        for descriptor in held:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
