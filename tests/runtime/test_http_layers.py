"""The default HTTP layer (llhttp, scoring/http_worker.py) answers what the previous one (gevent's pywsgi,
WORKER_CLASS=gevent_pywsgi) answered: the same requests, byte for byte on the wire, to both, except the Date header,
run()'s measured time, the order of header lines, and one deliberate difference: the new layer says
`Connection: close` on an HTTP/1.1 answer after which it closes (pywsgi closed without saying so)."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.conftest import Service, launch

ECHO = json.dumps({"op": "echo", "pad": "x" * 300_000}).encode()  # a body that arrives in several reads
HOST = b"Host: t\r\nx-request-id: layer-test\r\n"
CASES = {
    "liveness": b"GET / HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n",
    "head": b"HEAD / HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n",
    "score with a length": b"POST /score HTTP/1.1\r\n" + HOST + b"Content-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(ECHO) + ECHO,
    "score chunked": b"POST /score HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    b"5\r\n" + ECHO[:5] + b"\r\n%x\r\n" % (len(ECHO) - 5) + ECHO[5:] + b"\r\n0\r\n\r\n",
    "own response": b"POST /score HTTP/1.1\r\n" + HOST + b"Content-Length: 16\r\nConnection: close\r\n\r\n"
    b'{"op":"response"}',
    "run() fails": b"POST /score HTTP/1.1\r\n"
    + HOST
    + b'Content-Length: 12\r\nConnection: close\r\n\r\n{"op":"fail"}'[:12],
    "unknown route": b"GET /nope?x=1 HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n",
    "extension method": b"BREW / HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n",
    "http/1.0": b"GET / HTTP/1.0\r\nx-request-id: layer-test\r\n\r\n",
    "http/1.0 score": b"POST /score HTTP/1.0\r\nx-request-id: l\r\nContent-Length: 13\r\n\r\n" + b'{"op":"echo"}',
    "pipelined": b"GET / HTTP/1.1\r\n"
    + HOST
    + b"\r\nGET /swagger.json HTTP/1.1\r\n"
    + HOST
    + b"Connection: close\r\n\r\n",
    "empty body": b"POST /score HTTP/1.1\r\n" + HOST + b"Content-Length: 0\r\nConnection: close\r\n\r\n",
}
VARYING = re.compile(rb"^(date|x-ms-run-fn-exec-ms): .*$|^connection: close$", re.IGNORECASE)


@pytest.fixture(scope="module")
def layers(
    host_tritonserver: Path, model_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Service]]:
    logs = tmp_path_factory.mktemp("logs")
    services = {}
    try:
        for name, env in (("llhttp", {}), ("pywsgi", {"WORKER_CLASS": "gevent_pywsgi"})):
            services[name] = launch(host_tritonserver, model_repository, "general", logs, env)
        for service in services.values():
            service.wait_ready()
        yield services
    finally:
        for service in services.values():
            service.stop()


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(data)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def answers(raw: bytes) -> list[tuple[bytes, list[bytes], bytes]]:
    """Each answer's status line, its header lines less the varying ones (sorted), and its body as framed."""
    found = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        status, *lines = head.split(b"\r\n")
        headers = sorted(line.lower() for line in lines if not VARYING.match(line))
        length = next((int(line.split(b":")[1]) for line in headers if line.startswith(b"content-length:")), None)
        if length is None:  # chunked, or ended by the close
            end = rest.find(b"\r\n0\r\n\r\n") + 7 if b"transfer-encoding: chunked" in headers else len(rest)
            length = end
        found.append((status, headers, rest[:length]))
        raw = rest[length:]
    return found


def test_the_default_worker_is_the_llhttp_layer(layers: dict[str, Service]) -> None:
    assert "Using worker: scoring.http_worker.CompiledWorker" in layers["llhttp"].log()
    assert "Using worker: scoring.server.ProtectedWorker" in layers["pywsgi"].log()


@pytest.mark.parametrize("case", list(CASES))
def test_both_layers_answer_alike(layers: dict[str, Service], case: str) -> None:
    new, old = (answers(exchange(layers[name].port, CASES[case])) for name in ("llhttp", "pywsgi"))
    assert new and new == old


def test_an_idle_keep_alive_connection_serves_again(layers: dict[str, Service]) -> None:
    """Two requests on one connection with a pause between them (well inside KEEPALIVE_TIMEOUT)."""
    with socket.create_connection(("127.0.0.1", layers["llhttp"].port), timeout=30) as connection:
        for _ in range(2):
            connection.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            answer = b""
            while not answer.endswith(b"Healthy"):
                answer += connection.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 ")


def test_an_answer_before_a_close_says_so(layers: dict[str, Service]) -> None:
    answer = exchange(layers["llhttp"].port, CASES["liveness"])
    assert b"Connection: close" in answer.partition(b"\r\n\r\n")[0].split(b"\r\n")
