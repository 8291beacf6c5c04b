"""HTTP to a scoring app either on 127.0.0.1:<port> or on a unix socket (a container with network_mode=none)."""

from __future__ import annotations

import http.client
import socket
from pathlib import Path

# A TCP port on 127.0.0.1, or the host path of the container's SCORING_UNIX_SOCKET.
Target = int | Path


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = str(path)

    def connect(self) -> None:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(self.timeout)
        try:
            connection.connect(self.socket_path)
        except OSError:
            connection.close()
            raise
        self.sock = connection


def connect(target: Target, timeout: float = 120.0) -> http.client.HTTPConnection:
    if isinstance(target, Path):
        return UnixHTTPConnection(target, timeout)
    return http.client.HTTPConnection("127.0.0.1", target, timeout=timeout)


def request(
    target: Target, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """(status, headers, body) of one request; raises OSError when nothing answers."""
    connection = connect(target)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def status_of(target: Target, path: str, timeout: float = 2.0) -> int | None:
    """Status of a GET, or None when nothing answers."""
    connection = connect(target, timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
