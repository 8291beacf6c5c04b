"""Socket writes for the hot path (the scoring port's answers and the Triton wire client's requests)."""

from __future__ import annotations

import socket


def send_all(sock: socket.socket, data: bytes) -> None:
    """sendall() without its per-call cost under gevent: gevent's sendall asks the kernel for the send buffer's size
    (a getsockopt system call) on every call; one send() usually takes a whole answer, sendall() only finishes it."""
    sent = sock.send(data)
    if sent < len(data):
        sock.sendall(memoryview(data)[sent:])
