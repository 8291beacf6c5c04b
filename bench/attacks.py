"""Hostile clients against a scoring port on 127.0.0.1, with legitimate /score requests timed while they run.

One asyncio loop holds every attack connection (thousands fit in one process); the legitimate probes run in a
thread of their own, so that loop cannot delay them. Kinds:
- half-open: a request line and one header, then silence (headers never finished);
- slow-headers: a request line, then one more header line a second (slowloris);
- slow-body: complete headers announcing a body, then two bytes a second;
- idle: one finished keep-alive request, then silence.
With `sustain`, a slot whose connection the server closed connects again, so `count` attackers stay connected for
the whole run. Used by tests/hostile (small numbers) and `make hostile` (bench/hostile.py, full numbers).
"""

from __future__ import annotations

import asyncio
import resource
import socket
import time
from dataclasses import dataclass, field

CONNECT_PARALLEL = 200
DRIBBLE_INTERVAL_S = 1.0
KINDS = ("half-open", "slow-headers", "slow-body", "idle")
DRIBBLE = {"slow-headers": b"X-Slow: 1\r\n", "slow-body": b"  "}


@dataclass
class Probe:
    at_s: float  # since the attack started
    status: int  # 0: no answer (timeout or connection error)
    latency_s: float
    attackers_open: int  # attack connections open when the probe was sent


@dataclass
class AttackResult:
    kind: str
    count: int
    seconds: float
    connected: int = 0  # attack connections established, reconnections included
    refused: int = 0  # connects that failed
    closed_by_server: list[float] = field(default_factory=list)  # seconds each waited before the server closed it
    answered: dict[int, int] = field(default_factory=dict)  # status codes the server sent attack connections
    open_at_end: int = 0
    first_wave_closed: int = 0  # of the first `count` connections, how many the server closed
    probes: list[Probe] = field(default_factory=list)

    def probe_statuses(self) -> list[int]:
        return [probe.status for probe in self.probes]

    def latency_percentile(self, fraction: float) -> float:
        ordered = sorted(probe.latency_s for probe in self.probes)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def attack_opening(kind: str) -> bytes:
    if kind in ("half-open", "slow-headers"):
        return b"POST /score HTTP/1.1\r\nHost: attacker\r\n"
    if kind == "slow-body":
        return b"POST /score HTTP/1.1\r\nHost: attacker\r\nContent-Length: 100000\r\n\r\n"
    if kind == "idle":
        return b"GET / HTTP/1.1\r\nHost: attacker\r\n\r\n"
    raise ValueError(f"unknown attack kind {kind!r}; use one of {', '.join(KINDS)}")


def read_status(data: bytes) -> int:
    parts = data.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


class Attack:
    def __init__(self, host: str, port: int, kind: str, count: int, seconds: float, sustain: bool) -> None:
        self.host, self.port, self.kind, self.sustain = host, port, kind, sustain
        self.result = AttackResult(kind, count, seconds)
        self.deadline = 0.0
        self.connect_gate = asyncio.Semaphore(CONNECT_PARALLEL)
        self.open_now = 0

    async def slot(self, index: int) -> None:
        first = True
        while time.monotonic() < self.deadline:
            closed = await self.one_connection()
            if first and closed:
                self.result.first_wave_closed += 1
            first = False
            if not self.sustain:
                return

    async def one_connection(self) -> bool:
        """Hold one attack connection until the server closes it (True) or the run ends (False)."""
        try:
            async with self.connect_gate:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 10)
        except (TimeoutError, OSError):
            self.result.refused += 1
            await asyncio.sleep(0.5)
            return False
        self.result.connected += 1
        self.open_now += 1
        dribbler = None
        try:
            writer.write(attack_opening(self.kind))
            await writer.drain()
            if self.kind == "idle":  # read the answer to the one real request; idling starts after it
                head = await asyncio.wait_for(reader.readuntil(b"Healthy"), 10)
                self.count_answer(read_status(head))
            since = time.monotonic()
            if self.kind in DRIBBLE:
                dribbler = asyncio.ensure_future(self.dribble(writer, DRIBBLE[self.kind]))
            remaining = self.deadline - time.monotonic()
            try:
                data = await asyncio.wait_for(read_to_end(reader), max(0.0, remaining))
            except TimeoutError:
                return False
            if data:
                self.count_answer(read_status(data))
            self.result.closed_by_server.append(time.monotonic() - since)
            return True
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self.result.closed_by_server.append(0.0)
            return True
        finally:
            self.open_now -= 1
            if dribbler is not None:
                dribbler.cancel()
            writer.close()

    def count_answer(self, status: int) -> None:
        self.result.answered[status] = self.result.answered.get(status, 0) + 1

    async def dribble(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        try:
            while True:
                await asyncio.sleep(DRIBBLE_INTERVAL_S)
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            return


async def read_to_end(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)


def legitimate(host: str, port: int, request: bytes, timeout_s: float = 10.0) -> tuple[int, float]:
    """One legitimate request on its own connection: (status, seconds); status 0 when it got no answer.

    Blocking, in its own thread: the attackers' event loop must not delay (and so inflate) the measurement.
    """
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as connection:
            connection.sendall(request)
            parts = []
            while chunk := connection.recv(65536):
                parts.append(chunk)
    except OSError:
        return 0, time.monotonic() - started
    return read_status(b"".join(parts)), time.monotonic() - started


def score_request(body: bytes, path: str = "/score") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def run_attacks_async(
    port: int, counts: dict[str, int], seconds: float, probe: bytes, probe_every_s: float, sustain: bool
) -> dict[str, AttackResult]:
    attacks = [Attack("127.0.0.1", port, kind, count, seconds, sustain) for kind, count in counts.items()]
    started = time.monotonic()
    slots = []
    for attack in attacks:
        attack.deadline = started + seconds
        slots += [asyncio.ensure_future(attack.slot(index)) for index in range(attack.result.count)]
    probes: list[Probe] = []

    def probe_loop() -> None:
        while time.monotonic() < started + seconds:
            open_now = sum(attack.open_now for attack in attacks)
            status, latency = legitimate("127.0.0.1", port, probe)
            probes.append(Probe(time.monotonic() - started, status, latency, open_now))
            time.sleep(max(0.0, probe_every_s - latency))

    await asyncio.get_running_loop().run_in_executor(None, probe_loop)
    for attack in attacks:
        attack.result.open_at_end = attack.open_now
        attack.result.probes = probes  # shared: every probe ran against all of them
    await asyncio.gather(*slots, return_exceptions=True)
    return {attack.kind: attack.result for attack in attacks}


def run_attacks(
    port: int,
    counts: dict[str, int],
    seconds: float,
    probe: bytes,
    probe_every_s: float = 0.25,
    sustain: bool = False,
) -> dict[str, AttackResult]:
    """Run `counts[kind]` attackers of each kind at once for `seconds` while probing with the legitimate `probe`."""
    for kind in counts:
        attack_opening(kind)  # fail early on an unknown kind
    raise_fd_limit(sum(counts.values()) + 1024)
    return asyncio.run(run_attacks_async(port, counts, seconds, probe, probe_every_s, sustain))


def run_attack(
    port: int, kind: str, count: int, seconds: float, probe: bytes, probe_every_s: float = 0.25, sustain: bool = False
) -> AttackResult:
    return run_attacks(port, {kind: count}, seconds, probe, probe_every_s, sustain)[kind]
