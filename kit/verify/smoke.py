"""Smoke-test a built image: run it on the host network, wait for readiness, check health and every sample."""

from __future__ import annotations

import http.client
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import docker

from kit.docker.containers import free_port, http_status, log_report, running, wait_for_http_ok
from kit.progress import console
from kit.spec.bases import SHARED_NETWORK_TRITON_ARGS
from kit.spec.image import ImageSpec, Sample, sample_expected, sample_request

READY_TIMEOUT_S = 300
# Triton binds 127.0.0.1 by default (TRITON_LOCALHOST_ONLY).
TRITON_TEST_ARGS = " ".join(SHARED_NETWORK_TRITON_ARGS)


def loopback_environment(port: int, triton_port: int) -> dict[str, str]:
    """Container settings for a run on the host network: scoring and Triton on 127.0.0.1, fixed free ports."""
    return {
        "SERVER_HOST": "127.0.0.1",
        "SERVER_PORT": str(port),
        "TRITON_HTTP_PORT": str(triton_port),
        "TRITON_ARGS": TRITON_TEST_ARGS,
    }


@dataclass
class SmokeReport:
    ready_seconds: float = 0.0
    samples_passed: int = 0
    samples_total: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and self.samples_passed == self.samples_total


def differences(expected: Any, actual: Any, tolerance: float, path: str = "$") -> list[str]:
    """Where `actual` departs from `expected`; numbers may differ by `tolerance`."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        close = math.isclose(expected, actual, rel_tol=0.0, abs_tol=tolerance) or expected == actual
        return [] if close else [f"{path}: expected {expected!r}, got {actual!r} (tolerance {tolerance})"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        if set(expected) != set(actual):
            return [f"{path}: keys differ: expected {sorted(expected)}, got {sorted(actual)}"]
        return [
            item for key in expected for item in differences(expected[key], actual[key], tolerance, f"{path}.{key}")
        ]
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} items, got {len(actual)}"]
        pairs = zip(expected, actual, strict=True)
        return [
            item
            for index, (want, got) in enumerate(pairs)
            for item in differences(want, got, tolerance, f"{path}[{index}]")
        ]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def check_sample(port: int, folder: Path, sample: Sample) -> list[str]:
    body = sample_request(folder, sample)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        if sample.method == "GET":
            connection.request("GET", "/score?" + urlencode(json.loads(body)))
        else:
            connection.request("POST", "/score", body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        status, raw = response.status, response.read()
    finally:
        connection.close()
    if status != sample.status:
        return [f"sample {sample.name}: HTTP {status} (expected {sample.status}): {raw[:300]!r}"]
    try:
        actual = json.loads(raw)
    except ValueError:
        return [f"sample {sample.name}: response is not JSON: {raw[:300]!r}"]
    expected = sample_expected(folder, sample)
    if sample.fields is not None:
        if not isinstance(actual, dict):
            return [f"sample {sample.name}: fields {sample.fields} need a JSON object, got {type(actual).__name__}"]
        missing = [name for name in sample.fields if name not in actual]
        if missing:
            return [f"sample {sample.name}: response lacks fields {missing}"]
        expected = {name: expected[name] for name in sample.fields}
        actual = {name: actual[name] for name in sample.fields}
    return [f"sample {sample.name}: {item}" for item in differences(expected, actual, sample.tolerance)]


def smoke_test(docker_client: docker.DockerClient, image: str, spec: ImageSpec, folder: Path) -> SmokeReport:
    port, triton_port = free_port(), free_port()
    environment = loopback_environment(port, triton_port)
    report = SmokeReport(samples_total=len(spec.samples))
    name = f"triton-kit-smoke-{spec.name}-{port}"
    with running(docker_client, image, environment=environment, name=name) as container:
        console.print(f"smoke {spec.name}: started {name} (scoring 127.0.0.1:{port}, Triton 127.0.0.1:{triton_port})")
        report.ready_seconds = wait_for_http_ok(container, f"http://127.0.0.1:{port}/ready", READY_TIMEOUT_S)
        checks = {
            "GET / (liveness)": f"http://127.0.0.1:{port}/",
            "GET /ready": f"http://127.0.0.1:{port}/ready",
            "Triton /v2/health/ready": f"http://127.0.0.1:{triton_port}/v2/health/ready",
        }
        for label, url in checks.items():
            status = http_status(url)
            if status != 200:
                report.failures.append(f"{label} answered {status}")
        for sample in spec.samples:
            problems = check_sample(port, folder, sample)
            report.failures += problems
            report.samples_passed += not problems
        if report.failures:
            report.failures.append(log_report(container, f"container {container.name}"))
    return report
