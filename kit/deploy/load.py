"""Steady, bounded HTTP load: a fixed request rate spread over a few keep-alive clients, each answer checked."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from kit.verify.smoke import differences


@dataclass(frozen=True)
class Outcome:
    phase: str
    latency_s: float
    error: str  # empty when the answer had the expected status and body


@dataclass(frozen=True)
class Request:
    body: bytes
    status: int
    expected: Any
    tolerance: float
    fields: tuple[str, ...] = ()  # compare only these top-level fields when given


@dataclass
class SteadyLoad:
    port: int
    request: Request
    rate: float
    clients: int = 4
    max_requests: int = 20_000
    phase: str = "before"
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self.client, args=(index,), daemon=True) for index in range(self.clients)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> list[Outcome]:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)
        return self.outcomes

    def client(self, index: int) -> None:
        interval = self.clients / self.rate
        next_at = time.monotonic() + index * interval / self.clients
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while not self.stopping.is_set() and len(self.outcomes) < self.max_requests:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            phase, started = self.phase, time.monotonic()
            error = self.send(connection)
            if error:
                connection.close()  # a fresh connection after any failure
            with self.lock:
                self.outcomes.append(Outcome(phase, time.monotonic() - started, error))
        connection.close()

    def send(self, connection: http.client.HTTPConnection) -> str:
        try:
            connection.request("POST", "/score", body=self.request.body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            status, raw = response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            return f"{type(error).__name__}: {error}"
        if status != self.request.status:
            return f"HTTP {status}: {raw[:200]!r}"
        try:
            actual = json.loads(raw)
        except ValueError:
            return f"not JSON: {raw[:200]!r}"
        expected = self.request.expected
        if self.request.fields:
            if not isinstance(actual, dict):
                return f"not a JSON object: {raw[:200]!r}"
            expected = {name: expected.get(name) for name in self.request.fields}
            actual = {name: actual.get(name) for name in self.request.fields}
        return "; ".join(differences(expected, actual, self.request.tolerance)[:3])
