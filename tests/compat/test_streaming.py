"""Streamed answers (`AMLResponse(generator, ...)`) against Azure ML's server: status, contract headers, each chunk as
framed on the wire, their order, whether the stream ended or was cut, and per-chunk delivery, proved by handshake:
the script produces chunk N+1 only after the client has written ack-N (a server that held chunks back would leave
the generator waiting, which ends the stream with "no ack"). Also: a client that leaves stops the generator, and a
script without init() is refused at start."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from kit import PROJECT_ROOT
from tests.compat import wire
from tests.compat.conftest import PEER_SITE, PEER_VENV, SCRIPTS, Server, start
from tests.compat.test_differential import INTERNAL_ERROR, SCRIPT_FAILED, Answer

BOUND_S = 60  # bounded waits for an event (a file, an exit), never a measurement
TOKENS = tuple(f"token {index}\n".encode() for index in range(4))
SSE = (*(f'data: {{"token": {index}}}\n\n'.encode() for index in range(3)), b"data: [DONE]\n\n")


@dataclass(frozen=True)
class StreamCase:
    kind: str
    status: int = 200
    chunks: tuple[bytes, ...] = ()
    complete: bool = True  # False: the stream is cut (no closing chunk, connection closed)
    handshake: bool = False
    deviation: str | None = None

    @property
    def id(self) -> str:
        return f"streaming:{self.kind}"


STREAM_CASES = [
    StreamCase("text", chunks=TOKENS, handshake=True),
    StreamCase("bytes", chunks=TOKENS, handshake=True),
    StreamCase("sse", chunks=SSE, handshake=True),
    StreamCase("raises", chunks=TOKENS[:2], complete=False, handshake=True),
    StreamCase("slow", chunks=TOKENS),  # 4 x 0.6 s > SCORING_TIMEOUT_MS: the timeout bounds run(), not its stream
    StreamCase("empty"),
    StreamCase("empty-chunks", chunks=(b"a", b"b")),  # empty items are not sent (one would end the stream)
    StreamCase("not-text", chunks=(b"a",), complete=False),  # an int item cuts the stream
    StreamCase("failed", status=503, chunks=TOKENS[:2], handshake=True),
    StreamCase("no-content", status=204),  # a 204 never starts the generator
    StreamCase("list", chunks=(b"abc",)),  # a message with a length is joined and sent with a Content-Length
    StreamCase("dict", chunks=(b"xy",)),  # ... as Werkzeug joins it: a dict's keys
    StreamCase("raises-first", status=500, deviation="stream-fails-before-first-chunk"),
    StreamCase("number", status=500, deviation="non-iterable-message"),
]
STREAM_DELIBERATE = {"stream-fails-before-first-chunk", "non-iterable-message"}
OTHER_IDS = ("streaming:client-gone", "no_init:start")


def ask(server: Server, case: StreamCase, folder: Path) -> wire.Streamed:
    folder.mkdir(parents=True)
    body = f'{{"kind": "{case.kind}", "dir": "{folder if case.handshake else ""}"}}'.encode()
    headers = {"Content-Type": "application/json", "x-request-id": f"req-{case.id}"}

    def ack(index: int, chunk: bytes) -> None:
        (folder / f"ack-{index}").touch()

    return wire.request(server.port, "POST", "/score", body, headers, on_chunk=ack)


def contract(answer: wire.Streamed, case: StreamCase) -> tuple[int, dict[str, str], tuple[bytes, ...], bool]:
    headers = Answer.of((answer.status, answer.headers, b""), {"x-request-id": "given"}).headers
    return answer.status, headers, tuple(answer.chunks), answer.complete


@pytest.mark.parametrize("case", STREAM_CASES, ids=[case.id for case in STREAM_CASES])
def test_same_stream_as_azure_ml(case: StreamCase, pairs: dict, tmp_path: Path) -> None:
    peer_server, kit_server = pairs["streaming"]
    peer, kit = ask(peer_server, case, tmp_path / "peer"), ask(kit_server, case, tmp_path / "kit")
    if case.deviation is None:
        assert contract(kit, case) == contract(peer, case), f"\npeer: {peer}\nkit:  {kit}"
        assert (kit.status, tuple(kit.chunks), kit.complete) == (case.status, case.chunks, case.complete), kit
        streamed = kit.header("transfer-encoding") == "chunked"
        assert streamed == (case.status != 204 and case.kind not in ("list", "dict")), kit
        assert (kit.header("content-length") is None) == (streamed or case.status == 204), kit
    else:
        assert case.deviation in STREAM_DELIBERATE
        stream_differs_only_by(case.deviation)(peer, kit)


def test_sse_and_headers_of_a_stream(pairs: dict, tmp_path: Path) -> None:
    """The script's Content-Type and headers go out as set (Azure ML's AMLResponse rules), chunked."""
    case = next(case for case in STREAM_CASES if case.kind == "sse")
    kit = ask(pairs["streaming"][1], case, tmp_path / "kit")
    assert kit.header("content-type") == "text/event-stream" and kit.header("x-single") == "sse"
    assert kit.header("x-ms-run-function-failed") == "False" and float(kit.header("x-ms-run-fn-exec-ms") or -1) >= 0
    assert kit.header("x-request-id") == "req-streaming:sse"


def stream_differs_only_by(kind: str) -> Callable[[wire.Streamed, wire.Streamed], None]:
    def check(peer: wire.Streamed, kit: wire.Streamed) -> None:
        # Gunicorn's own HTML page, without request id; the kit answers JSON with the request id, like its other 500s.
        assert (peer.status, peer.header("content-type"), peer.header("x-request-id")) == (500, "text/html", None)
        assert kit.status == 500 and kit.header("content-type") == "application/json"
        assert kit.header("x-request-id") is not None and kit.complete
        if kind == "stream-fails-before-first-chunk":  # the generator raised before its first chunk
            assert (Answer.of((500, kit.headers, kit.body), {}).body, kit.header("x-ms-run-function-failed")) == (
                SCRIPT_FAILED,
                "True",
            )
        elif kind == "non-iterable-message":  # AMLResponse(5, 200): neither text, bytes nor iterable
            assert (Answer.of((500, kit.headers, kit.body), {}).body, kit.header("x-ms-run-function-failed")) == (
                INTERNAL_ERROR,
                "False",
            )
        else:
            raise AssertionError(f"unknown deviation {kind}")

    return check


def wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + BOUND_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_client_that_leaves_stops_the_generator(pairs: dict, tmp_path: Path) -> None:
    """The client reads one chunk and closes: on both servers the next chunks cannot be sent, the generator is
    closed and its finally runs (it writes generator-closed), long before its 4,000 ticks are done."""
    for name, server in zip(("peer", "kit"), pairs["streaming"], strict=True):
        folder = tmp_path / name
        folder.mkdir()
        body = f'{{"kind": "forever", "dir": "{folder}"}}'.encode()
        answer = wire.request(server.port, "POST", "/score", body, {"Content-Type": "application/json"}, stop_after=1)
        assert answer.chunks == [b"tick 0\n"], answer
        assert wait_for((folder / "generator-closed").exists), f"{name}: the generator was not closed"
        assert int((folder / "generator-closed").read_text()) < 4000, name


def test_a_script_without_init_is_refused_at_start(tmp_path: Path) -> None:
    """Azure ML's server does not start with a script that defines no init(); neither does the kit (one line why)."""
    folder = SCRIPTS / "no_init"
    env = {"AML_APP_ROOT": str(folder), "AZUREML_ENTRY_SCRIPT": "score.py", "WORKER_COUNT": "1"}
    peer = start(
        "azureml-inference-server-http",
        [str(PEER_VENV / "bin" / "azmlinfsrv"), "--entry_script", str(folder / "score.py"), "--port", "{port}"],
        {**env, "PYTHONPATH": str(PEER_SITE)},
        tmp_path / "peer.log",
        folder,
    )
    kit = start(
        "kit runtime",
        [sys.executable, "-m", "gunicorn", "--config", "python:scoring.gunicorn_conf", "scoring.app:create_app()"],
        {**env, "PYTHONPATH": str(PROJECT_ROOT), "SERVER_HOST": "127.0.0.1"},
        tmp_path / "kit.log",
        folder,
    )
    try:
        for server in (peer, kit):
            assert wait_for(lambda process=server.process: process.poll() is not None), f"{server.name} started"
            assert server.process.returncode != 0
        assert "does not have a init() function defined" in peer.log_path.read_text(errors="replace")
        assert "defines no init() function: add `def init(): pass`" in kit.log_path.read_text(errors="replace")
    finally:
        for server in (peer, kit):
            server.stop()


def test_wire_client_sees_a_cut_stream() -> None:
    """The wire client itself: a chunked answer without its closing chunk reads as incomplete (checked on a
    scripted socket, so the 'cut' verdicts above cannot pass by a client that never reports one)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        answer = wire.request(port, "GET", "/")
    finally:
        thread.join()
        listener.close()
    assert (answer.status, answer.chunks, answer.complete) == (200, [b"abc"], False)
