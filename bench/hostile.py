"""`make hostile`: the scoring port under hostile clients, full numbers, and what the protections cost per request.

Serves the mlp-classifier example (its score.py, model repository and sample request) with the shipped defaults on
127.0.0.1: from a built image on the host network with `HOSTILE_ARGS="--image mlp-classifier:1.0.0"` (build it
first), else through host processes (the real supervisor, Gunicorn and a tritonserver from the wheel).
1. Attacks, each on its own while legitimate /score requests are timed: 1,000 half-open requests (watched for 65 s),
   1,000 slow bodies and 5,000 idle keep-alive connections (each watched for its timeout plus 10 s).
2. CPU per legitimate /score request (utime+stime of the supervisor, Gunicorn and any proxy / requests; wrk c=32):
   gevent's plain pywsgi worker, each WORKER_CLASS named by --worker-classes (default: the default layer), and the
   plain worker behind haproxy (the extra-hop design: a buffering proxy in front, as nginx in Azure ML's old images).
Attacks run once per --worker-classes entry (`make hostile HOSTILE_ARGS="--worker-classes gevent_llhttp,gevent_pywsgi,
gevent --out <date>-candidates.md"` gives the candidates' comparison in docs/benchmarks.md).
Writes bench/results/hostile-<date>.md and prints it. Not part of `make test` (tests/hostile runs smaller numbers).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.attacks import AttackResult, run_attack, score_request
from bench.load import Body, run_wrk
from kit import PROJECT_ROOT
from kit.docker.containers import free_port
from scoring.settings import Settings
from tests.hostile.conftest import start

EXAMPLE = PROJECT_ROOT / "images" / "mlp-classifier"
RESULTS = PROJECT_ROOT / "bench" / "results"
DEFAULTS = Settings.from_env({})
TICKS = os.sysconf("SC_CLK_TCK")
HAPROXY_CONFIG = """global
  maxconn 8000
defaults
  mode http
  option http-buffer-request
  timeout connect 5s
  timeout client {body}s
  timeout server 300s
  timeout http-request {header}s
  timeout http-keep-alive {idle}s
frontend scoring
  bind 127.0.0.1:{port}
  default_backend app
backend app
  http-reuse always
  server app 127.0.0.1:{upstream}
"""


def attacks(port: int, probe: bytes, scale: float) -> list[AttackResult]:
    plan = [
        ("half-open", 1000, 65.0),
        ("slow-body", 1000, DEFAULTS.client_body_timeout_s + 10.0),
        ("idle", 5000, DEFAULTS.keepalive_timeout_s + 10.0),
    ]
    results = []
    for kind, count, seconds in plan:
        print(f"hostile: {int(count * scale)} {kind} for {seconds:.0f} s", flush=True)
        results.append(run_attack(port, kind, int(count * scale), seconds, probe))
    return results


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue += children.get(pid, [])
    return found


def cpu_seconds(pids: list[int], skip: str = "tritonserver") -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1].split()
            if skip not in name and "triton_python" not in name:
                total += int(fields[11]) + int(fields[12])
    return total / TICKS


@contextlib.contextmanager
def haproxy(upstream: int) -> Iterator[tuple[int, int]]:
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as config:
        config.write(
            HAPROXY_CONFIG.format(
                port=port,
                upstream=upstream,
                header=DEFAULTS.client_header_timeout_s,
                body=DEFAULTS.client_body_timeout_s,
                idle=DEFAULTS.keepalive_timeout_s,
            )
        )
    process = subprocess.Popen(["haproxy", "-db", "-f", config.name], stdout=subprocess.DEVNULL)
    try:
        wait_listening(port)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        os.unlink(config.name)


def wait_listening(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass
class Served:
    port: int
    pids: Callable[[], list[int]]  # host PIDs of the serving processes (tritonserver is left out when counting)


@contextlib.contextmanager
def served(image: str | None, log_dir: Path, **env: str) -> Iterator[Served]:
    """The example served by `image` (a container on the host network) or, without one, by host processes."""
    if image is None:
        service = start(EXAMPLE / "triton", EXAMPLE, log_dir, **env)
        try:
            yield Served(service.port, lambda: process_tree(service.process.pid))
        finally:
            service.stop()
        return
    from bench.targets import image_target
    from kit.docker.client import client

    with image_target(client(), image, DEFAULTS.worker_count, **env) as target:
        rows = lambda: target.container.top(ps_args="-eo pid,args")["Processes"]  # noqa: E731
        yield Served(target.port, lambda: [int(row[0]) for row in rows()])


def cpu_row(name: str, server: Served, url_port: int, extra_pids: list[int], body: Body, seconds: float) -> str:
    run_wrk(f"http://127.0.0.1:{url_port}/score", body, 32, 2)  # warm-up
    pids = server.pids() + extra_pids
    before = cpu_seconds(pids)
    load = run_wrk(f"http://127.0.0.1:{url_port}/score", body, 32, seconds)
    used = cpu_seconds(pids) - before
    per_request = used / load.requests * 1e6 if load.requests else float("nan")
    return f"| {name} | {per_request:.0f} | {load.rate:,.0f} | {load.p50_ms:.1f} | {load.p99_ms:.1f} | {load.errors} |"


WORKER_CLASSES = {  # WORKER_CLASS: what it is
    "gevent_llhttp": "llhttp (httptools) under gevent, protected (default)",
    "gevent_pywsgi": "gevent's pywsgi, protected",
    "gevent": "Gunicorn's own gevent worker (its Python parser; no header/body deadlines)",
}


def cpu_costs(image: str | None, log_dir: Path, body: Body, seconds: float, classes: list[str]) -> list[str]:
    rows = []
    plain = {"GUNICORN_CMD_ARGS": "--worker-class gevent_pywsgi"}  # overrides the config's protected class
    candidates = [(f"`{name}`: {WORKER_CLASSES.get(name, name)}", {"WORKER_CLASS": name}) for name in classes]
    for name, env in (("plain pywsgi worker (unprotected)", plain), *candidates):
        with served(image, log_dir, **env) as server:
            rows.append(cpu_row(name, server, server.port, [], body, seconds))
            if env is plain and shutil.which("haproxy"):
                with haproxy(server.port) as (port, pid):
                    rows.append(cpu_row("haproxy -> plain pywsgi worker", server, port, [pid], body, seconds))
    return rows


def percentile_ms(latencies: list[float], fraction: float) -> str:
    ordered = sorted(latencies)
    return f"{ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000:.0f}" if ordered else "-"


def attack_rows(results: list[AttackResult]) -> list[str]:
    rows = []
    for result in results:
        loaded = [probe.latency_s for probe in result.probes if probe.attackers_open >= result.count * 0.9]
        every = [probe.latency_s for probe in result.probes]
        ok = sum(probe.status == 200 for probe in result.probes)
        closes = sorted(result.closed_by_server)
        after = [probe for probe in result.probes if probe.at_s >= 60]
        late = f"{after[0].status} in {after[0].latency_s * 1000:.0f} ms" if after else "-"
        rows.append(
            f"| {result.kind} | {result.count} | {result.first_wave_closed}/{result.connected} "
            f"| {f'{closes[0]:.1f}-{closes[-1]:.1f}' if closes else '-'} | {dict(sorted(result.answered.items()))} "
            f"| {ok}/{len(result.probes)} | {len(loaded)}: {percentile_ms(loaded, 0.99)} / {percentile_ms(loaded, 1)} "
            f"| {percentile_ms(every, 0.5)} / {percentile_ms(every, 0.99)} / {percentile_ms(every, 1)} | {late} |"
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the attacker counts (e.g. 0.1 to try)")
    parser.add_argument("--seconds", type=float, default=8.0, help="wrk seconds per CPU point")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--skip-attacks", action="store_true")
    parser.add_argument(
        "--worker-classes", default="gevent_llhttp", help="comma-separated WORKER_CLASS values to attack and measure"
    )
    parser.add_argument("--out", help="report file name under bench/results/ (default hostile-<date>.md)")
    parser.add_argument(
        "--image", help="a built mlp-classifier image (e.g. mlp-classifier:1.0.0); default: host processes"
    )
    args = parser.parse_args()
    classes = [name for name in args.worker_classes.split(",") if name]
    sample = (EXAMPLE / "samples" / "request.json").read_bytes()
    with tempfile.TemporaryDirectory(prefix="hostile-") as work:
        log_dir, body_file = Path(work), Path(work) / "request.json"
        body_file.write_bytes(sample)
        lines = [
            f"# Hostile clients, {datetime.date.today()} ({platform.node()}, {os.cpu_count()} cores)",
            "",
            f"Shipped defaults: header timeout {DEFAULTS.client_header_timeout_s} s, body timeout "
            f"{DEFAULTS.client_body_timeout_s} s (+ size / {DEFAULTS.client_body_min_rate} B/s), keep-alive idle "
            f"{DEFAULTS.keepalive_timeout_s} s, {DEFAULTS.worker_connections} connections per worker, "
            f"{DEFAULTS.worker_count} worker. Example: mlp-classifier, its sample request, served by "
            f"{f'the image {args.image} (host network)' if args.image else 'host processes'}.",
            "",
        ]
        for worker_class in [] if args.skip_attacks else classes:
            print(f"hostile: WORKER_CLASS={worker_class}", flush=True)
            with served(args.image, log_dir, WORKER_CLASS=worker_class) as server:
                results = attacks(server.port, score_request(sample), args.scale)
            lines += [
                f"## Attacks on WORKER_CLASS={worker_class} (legitimate /score every 0.25 s on a new connection "
                "while each runs)",
                "",
                "| attack | attackers | closed by the server / connected | closed after (s) | server answered "
                "| /score 200 | under full attack: probes: p99 / max (ms) | whole run p50 / p99 / max (ms) "
                "| /score after 60 s |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
                *attack_rows(results),
                "",
            ]
        if not args.skip_cpu:
            lines += [
                f"## CPU per legitimate /score request (wrk c=32, {args.seconds:g} s; supervisor + Gunicorn + proxy)",
                "",
                "| server | CPU us/request | req/s | p50 (ms) | p99 (ms) | errors |",
                "| --- | --- | --- | --- | --- | --- |",
                *cpu_costs(args.image, log_dir, Body(body_file), args.seconds, classes),
                "",
            ]
    report = "\n".join(lines)
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / (args.out or f"hostile-{datetime.date.today()}.md")
    target.write_text(report)
    print(report)
    print(f"hostile: report in {target.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
