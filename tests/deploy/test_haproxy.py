"""The rehearsal's balancer hides no failure: a replica that stops answering before its health check notices gets
requests, and each of them fails at the client (no retry on the other replica, no redispatch). With `retries 3` and
`option redispatch` in templates/deploy/haproxy.cfg.j2 this test fails: the failures are hidden."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kit.deploy.haproxy import HAProxy, Slot
from kit.deploy.load import Request, SteadyLoad
from kit.docker.containers import free_port
from tests.support.waiting import wait_until

ANSWER = {"labels": [1]}
PHASE_ANSWERS = 50  # requests answered in a phase (about half a second at the load's rate)


class Replica(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.reply(b"{}")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.reply(json.dumps(ANSWER).encode())

    def reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, *_: object) -> None:
        pass  # health-check connections HAProxy closes early are not failures here


def serve() -> ThreadingHTTPServer:
    server = QuietServer(("127.0.0.1", free_port()), Replica)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def two_replicas(tmp_path: Path) -> Iterator[tuple[HAProxy, list[ThreadingHTTPServer], list[Slot]]]:
    servers = [serve(), serve()]
    slots = [Slot(f"slot{index}", server.server_address[1]) for index, server in enumerate(servers)]
    proxy = HAProxy(tmp_path, slots, "test replicas")
    proxy.start()
    try:
        for slot in slots:
            proxy.wait_for(slot, "UP", 10)
        yield proxy, servers, slots
    finally:
        proxy.stop()
        for server in servers:
            server.server_close()


def answered(load: SteadyLoad, phase: str) -> int:
    with load.lock:
        return sum(1 for item in load.outcomes if item.phase == phase and not item.error)


def test_a_replica_gone_before_its_check_fails_requests_visibly(
    two_replicas: tuple[HAProxy, list[ThreadingHTTPServer], list[Slot]],
) -> None:
    proxy, servers, slots = two_replicas
    load = SteadyLoad(proxy.port, Request(b"{}", 200, ANSWER, 0.0), rate=100, clients=4)
    load.start()
    wait_until(lambda: answered(load, "before") >= PHASE_ANSWERS, what="requests answered before the replica goes")
    load.phase = "gone"
    servers[1].shutdown()
    servers[1].server_close()  # connections to it are refused from now on
    proxy.wait_for(slots[1], "DOWN", 10)
    load.phase = "after"
    wait_until(lambda: answered(load, "after") >= PHASE_ANSWERS, what="requests answered after the check failed")
    outcomes = load.stop()
    errors = {
        phase: [item.error for item in outcomes if item.phase == phase and item.error]
        for phase in ("before", "gone", "after")
    }
    assert errors["before"] == [] and errors["after"] == []
    # Refused by the gone replica and not retried elsewhere: HAProxy's own 503 reaches the client.
    refused = [error for error in errors["gone"] if error.startswith("HTTP 503")]
    assert refused, f"the balancer hid the gone replica (a retry or redispatch?): {errors['gone'][:3]}"
    assert any(item.phase == "after" and not item.error for item in outcomes)
