"""A raw-socket HTTP/1.1 client that reads an answer chunk by chunk as it arrives, for streamed answers.

http.client joins chunks and hides their boundaries and a cut stream; this one keeps both: each chunk as framed on
the wire, whether the closing chunk came (`complete`), and a callback per chunk (the tests' handshake: the server's
generator produces chunk N+1 only after the callback for chunk N has run).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

TIMEOUT_S = 60  # a liveness bound on a stuck server, not a measurement


@dataclass
class Streamed:
    status: int
    headers: list[tuple[str, str]]
    chunks: list[bytes] = field(default_factory=list)
    complete: bool = False  # chunked: the closing 0-chunk came; sized: all Content-Length bytes came

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ", ".join(values) if values else None


class Reader:
    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.buffer = b""

    def fill(self) -> bool:
        data = self.connection.recv(65536)
        self.buffer += data
        return bool(data)

    def line(self) -> bytes | None:
        while b"\r\n" not in self.buffer:
            if not self.fill():
                return None
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def exactly(self, size: int) -> bytes | None:
        while len(self.buffer) < size:
            if not self.fill():
                return None
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def rest(self) -> bytes:
        while self.fill():
            pass
        data, self.buffer = self.buffer, b""
        return data


def request(
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    on_chunk: Callable[[int, bytes], None] | None = None,
    stop_after: int | None = None,
) -> Streamed:
    """Send one request (Connection: close) and read the answer; stop_after=N closes the socket after N chunks."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as connection:
        connection.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)
        reader = Reader(connection)
        status_line = reader.line()
        assert status_line is not None, "the server closed the connection without an answer"
        answer = Streamed(int(status_line.split(b" ")[1]), [])
        while line := reader.line():
            name, _, value = line.decode("latin-1").partition(":")
            answer.headers.append((name.strip(), value.strip()))
        if method == "HEAD" or answer.status in (204, 304) or answer.status < 200:
            answer.complete = True
        elif (answer.header("transfer-encoding") or "").lower() == "chunked":
            read_chunks(reader, answer, on_chunk, stop_after)
        elif (length := answer.header("content-length")) is not None:
            data = reader.exactly(int(length))
            answer.chunks, answer.complete = ([data], True) if data is not None else ([reader.rest()], False)
        else:
            answer.chunks = [reader.rest()]  # framed by the close: completeness cannot be told
    return answer


def read_chunks(
    reader: Reader, answer: Streamed, on_chunk: Callable[[int, bytes], None] | None, stop_after: int | None
) -> None:
    while True:
        size_line = reader.line()
        if size_line is None:
            return  # cut before the closing chunk
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            answer.complete = reader.line() == b""
            return
        data = reader.exactly(size)
        if data is None or reader.exactly(2) != b"\r\n":
            return
        answer.chunks.append(data)
        if on_chunk is not None:
            on_chunk(len(answer.chunks) - 1, data)
        if stop_after is not None and len(answer.chunks) >= stop_after:
            return
