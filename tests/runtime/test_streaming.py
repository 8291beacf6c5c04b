"""Streamed answers in the runtime (supervisor, Gunicorn, gevent pywsgi, a real tritonserver): chunks produced by
Triton calls are delivered one by one (handshake, not timing), a client that leaves closes the generator, a stream
that fails mid-way is cut and logged with its request id (nothing of the exception reaches the client), and a 204
leaves a keep-alive connection usable."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.spec.samples import Sample
from kit.verify.smoke import check_sample
from tests.compat import wire
from tests.runtime.conftest import Service, launch

BOUND_S = 60  # a bounded wait for an event, never a measurement


@pytest.fixture(scope="module")
def streaming_service(
    host_tritonserver: Path, model_repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    logs = tmp_path_factory.mktemp("logs")
    env = {"LOG_FORMAT": "json", "KEEPALIVE_TIMEOUT": "300"}  # an idle connection outlives every bounded wait here
    service = launch(host_tritonserver, model_repository, "streaming", logs, env)
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


def body(kind: str, folder: Path, **extra: object) -> bytes:
    return json.dumps({"kind": kind, "dir": str(folder), **extra}).encode()


def test_each_chunk_is_sent_when_produced(streaming_service: Service, tmp_path: Path) -> None:
    """The kit's Response(generator): row N+1 is inferred only after the client has read row N."""
    rows = [[1, 2, 3, 4], [5, 6, 7, 8], [0.5, 0, 0, 0]]

    def ack(index: int, chunk: bytes) -> None:
        (tmp_path / f"ack-{index}").touch()

    headers = {"Content-Type": "application/json", "x-request-id": "rows-1"}
    earlier = len(streaming_service.log())  # the service is shared: only this request's lines count
    answer = wire.request(streaming_service.port, "POST", "/score", body("rows", tmp_path, rows=rows), headers, ack)
    assert answer.status == 200 and answer.complete, answer
    assert answer.header("content-type") == "application/x-ndjson"
    assert answer.header("transfer-encoding") == "chunked" and answer.header("content-length") is None
    assert [json.loads(chunk) for chunk in answer.chunks] == [
        {"row": index, "doubled": [2 * value for value in row]} for index, row in enumerate(rows)
    ]
    lines = [json.loads(line) for line in streaming_service.log()[earlier:].splitlines() if line.startswith("{")]
    streamed = [line for line in lines if line["message"].startswith("streaming row")]
    assert [line["request_id"] for line in streamed] == ["rows-1"] * 3  # the generator's log lines carry the id


def test_a_client_that_leaves_closes_the_generator(streaming_service: Service, tmp_path: Path) -> None:
    answer = wire.request(
        streaming_service.port, "POST", "/score", body("ticks", tmp_path), {"Content-Type": "application/json"}, None, 1
    )
    assert answer.chunks == [b"tick 0\n"]
    marker = tmp_path / "generator-closed"
    deadline = time.monotonic() + BOUND_S
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the generator's finally did not run after its client left"
    assert streaming_service.request("GET", "/")[0] == 200  # the worker serves on


def test_a_stream_that_fails_is_cut_and_logged(streaming_service: Service, tmp_path: Path) -> None:
    headers = {"Content-Type": "application/json", "x-request-id": "fails-1"}
    earlier = len(streaming_service.log())  # the service is shared: only this request's lines count
    answer = wire.request(streaming_service.port, "POST", "/score", body("fails", tmp_path), headers)
    assert (answer.status, answer.chunks, answer.complete) == (200, [b"first\n"], False)
    assert b"secret" not in answer.body
    lines = [json.loads(line) for line in streaming_service.log()[earlier:].splitlines() if line.startswith("{")]
    failed = [line for line in lines if "streamed answer failed after 1 chunks" in line["message"]]
    assert len(failed) == 1 and failed[0]["request_id"] == "fails-1" and failed[0]["level"] == "ERROR"
    assert "the secret model path" in failed[0]["message"]  # the traceback is in the log, once


def test_a_204_keeps_the_connection_usable(streaming_service: Service, tmp_path: Path) -> None:
    """AMLResponse(None, 204): no body, no Content-Length, and the next request on the same connection is answered."""
    payload = body("no-content", tmp_path)
    request = b"POST /score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(payload),
        payload,
    )
    with socket.create_connection(("127.0.0.1", streaming_service.port), timeout=BOUND_S) as connection:
        connection.sendall(request + b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    first, second = data.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"204 ") and first.endswith(b"\r\n\r\n"), first
    assert b"content-length" not in first.lower() and b"transfer-encoding" not in first.lower()
    assert second.startswith(b"200 ") and second.endswith(b"\r\n\r\nHealthy")


def test_a_sample_checks_a_streamed_answer(streaming_service: Service, tmp_path: Path) -> None:
    """image.yaml samples: expected_chunks compares each chunk as sent; streamed=True compares them joined and
    requires a chunked answer that ends with its closing chunk."""
    rows = {"kind": "rows", "rows": [[1, 2, 3, 4], [5, 6, 7, 8]]}
    lines = ['{"row": 0, "doubled": [2.0, 4.0, 6.0, 8.0]}\n', '{"row": 1, "doubled": [10.0, 12.0, 14.0, 16.0]}\n']

    def problems(**fields: object) -> list[str]:
        return check_sample(streaming_service.port, tmp_path, Sample(name="s", **fields))

    assert problems(request=rows, expected_chunks=lines) == []
    assert problems(request=rows, streamed=True, expected_text="".join(lines)) == []
    assert problems(request=rows, expected_text="".join(lines)) == []  # a plain sample reads the joined body too
    (wrong,) = problems(request=rows, expected_chunks=["".join(lines)])
    assert wrong.startswith("sample s: chunks: expected")
    (cut,) = problems(request={"kind": "fails"}, streamed=True, expected_text="first\n")
    assert cut == "sample s: the stream was cut after 1 chunks (no closing chunk)"
    (whole,) = problems(request={"kind": "no-content"}, status=204, streamed=True, expected_text="")
    assert whole == "sample s: not streamed: it came whole, not chunked"


def test_an_http_1_0_client_gets_the_stream_ended_by_the_close(streaming_service: Service) -> None:
    """No chunked framing in HTTP/1.0: the server closes the connection after the last item, even when the client
    asked for keep-alive (else the client could not tell where the answer ends)."""
    payload = json.dumps({"kind": "rows", "rows": [[1, 2, 3, 4], [1, 1, 1, 1]]}).encode()
    request = b"POST /score HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: %d\r\n\r\n%s" % (
        len(payload),
        payload,
    )
    with socket.create_connection(("127.0.0.1", streaming_service.port), timeout=BOUND_S) as connection:
        connection.sendall(request)
        data = b""
        while chunk := connection.recv(65536):  # ends only when the server closes
            data += chunk
    head, _, answer = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding" not in head.lower()
    assert [json.loads(line)["row"] for line in answer.splitlines()] == [0, 1]
