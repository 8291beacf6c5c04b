"""Prometheus metrics for the scoring app (requests, latency, status by route), served on /metrics.

With several Gunicorn workers the supervisor sets PROMETHEUS_MULTIPROC_DIR so /metrics sums over all of them.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

REQUESTS = Counter("scoring_requests_total", "HTTP requests by route, method and status", ["route", "method", "status"])
LATENCY = Histogram(
    "scoring_request_duration_seconds",
    "Time from request to response by route",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


_counters: dict[tuple[str, str, int], Counter] = {}
_latencies: dict[str, Histogram] = {}


def observe(route: str, method: str, status: int, seconds: float) -> None:
    """Labelled children are looked up once per label set (labels() costs more than the update itself)."""
    counter = _counters.get((route, method, status))
    if counter is None:
        counter = _counters[(route, method, status)] = REQUESTS.labels(route, method, str(status))
    latency = _latencies.get(route)
    if latency is None:
        latency = _latencies[route] = LATENCY.labels(route)
    counter.inc()
    latency.observe(seconds)


def exposition() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
