"""A loopback relay for `make run` on hosts without a default bridge: 127.0.0.1:<port> on the host, each connection
carried to the scoring app's unix socket in a network_mode=none container (byte for byte, both directions)."""

from __future__ import annotations

import contextlib
import selectors
import socket
import socketserver
import threading
from pathlib import Path
from types import TracebackType

from kit.errors import KitError

CHUNK = 1 << 16


class RelayError(KitError):
    pass


def pump(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes; a half-close is passed on. epoll (selectors), not select():
    select() fails for descriptors above 1023, which a busy process reaches."""
    open_sides = {client: upstream, upstream: client}
    with selectors.DefaultSelector() as selector:
        for side in open_sides:
            selector.register(side, selectors.EVENT_READ)
        while open_sides:
            for key, _ in selector.select(60.0):
                source = key.fileobj
                assert isinstance(source, socket.socket)
                data = source.recv(CHUNK)
                target = open_sides[source]
                if data:
                    target.sendall(data)
                    continue
                del open_sides[source]
                selector.unregister(source)
                try:
                    target.shutdown(socket.SHUT_WR)
                except OSError:
                    open_sides.clear()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    socket_path: Path


class _Connection(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(str(self.server.socket_path))
        except OSError:
            upstream.close()
            return  # the app is not listening (yet): the client sees a closed connection
        with upstream, contextlib.suppress(OSError):
            pump(self.request, upstream)


class LoopbackRelay:
    def __init__(self, port: int, socket_path: Path) -> None:
        try:
            self.server = _Server(("127.0.0.1", port), _Connection, bind_and_activate=True)
        except OSError as error:
            raise RelayError(f"cannot listen on 127.0.0.1:{port} ({error}); choose another with PORT=...") from None
        self.server.socket_path = socket_path
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, name="loopback-relay", daemon=True)

    def __enter__(self) -> LoopbackRelay:
        self.thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
