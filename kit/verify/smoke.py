"""Smoke-test a built image as Azure ML runs it: its own network namespace (network_mode=none) with Triton on
127.0.0.1:8000 inside, the scoring app reached through a unix socket in a mounted folder; health, then every sample."""

from __future__ import annotations

import hashlib
import http.client
import json
import math
import re
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from kit.docker import sdk
from kit.docker.containers import log_report, running, wait_until
from kit.docker.isolated import isolated_run
from kit.docker.sdk import Container
from kit.progress import console
from kit.spec.bases import SHARED_NETWORK_TRITON_ARGS
from kit.spec.image import ImageSpec, Sample, sample_expected, sample_request
from kit.spec.model_digests import MountedModel
from kit.spec.samples import HeaderRegex, sample_target
from kit.verify.model_mounts import staged_mounts
from kit.verify.transport import Target, connect, request, status_of
from scoring import settings

# Triton binds 127.0.0.1 by default (TRITON_LOCALHOST_ONLY).
TRITON_TEST_ARGS = " ".join(SHARED_NETWORK_TRITON_ARGS)
# Triton's own metrics that the scoring app's /metrics must re-export once a sample has been scored (Triton's
# metrics port stays inside the container).
TRITON_METRICS = (
    "nv_inference_request_success",
    "nv_inference_queue_duration_us",
    "nv_inference_compute_infer_duration_us",
)


def triton_inside_url(spec: ImageSpec) -> str:
    """Triton's readiness inside the container, on the port the image runs it (image.yaml or the declared default)."""
    return f"http://127.0.0.1:{image_setting(spec, 'TRITON_HTTP_PORT')}/v2/health/ready"


def image_setting(spec: ImageSpec, name: str) -> int:
    """A runtime setting as the image runs it: its image.yaml value (validated before the build), else the default
    declared in scoring/settings.py."""
    return int(settings.value(name, {name: str(spec.environment.get(name, ""))}))


def loopback_environment(port: int, triton_port: int) -> dict[str, str]:
    """Container settings for a run on the host network: scoring and Triton on 127.0.0.1, fixed free ports."""
    return {
        "SERVER_HOST": "127.0.0.1",
        "SERVER_PORT": str(port),
        "TRITON_HTTP_PORT": str(triton_port),
        "TRITON_ARGS": TRITON_TEST_ARGS,
    }


def wait_until_ready(container: Container, target: Target, timeout_s: float, path: str = "/ready") -> float:
    """Seconds until `path` answers 200 through `target` (see kit.docker.containers.wait_until)."""
    return wait_until(container, lambda: status_of(target, path) == 200, path, timeout_s)


def triton_ready_inside(container: Container, url: str) -> bool:
    """Triton answers on loopback inside the container (asked from within: nothing outside can reach it)."""
    python = (container.image.attrs["Config"].get("Entrypoint") or ["python3"])[0]
    probe = (
        f"import sys, urllib.request; sys.exit(0 if urllib.request.urlopen({url!r}, timeout=5).status == 200 else 1)"
    )
    return container.exec_run([python, "-c", probe]).exit_code == 0


@dataclass
class SmokeReport:
    ready_seconds: float = 0.0
    samples_passed: int = 0
    samples_total: int = 0
    failures: list[str] = field(default_factory=list)
    # The registered folders mounted read-only for the test (mount: true), with the digests of the files used.
    mounted_models: list[MountedModel] = field(default_factory=list)

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


def header_problems(sample: Sample, headers: Message) -> list[str]:
    problems = []
    for name, want in sample.expected_headers.items():
        got = headers.get(name)
        if got is None:
            problems.append(f"header {name} missing (expected {want if isinstance(want, str) else want.regex!r})")
        elif isinstance(want, HeaderRegex) and not re.fullmatch(want.regex, got):
            problems.append(f"header {name}: {got!r} does not match {want.regex!r}")
        elif isinstance(want, str) and got != want:
            problems.append(f"header {name}: expected {want!r}, got {got!r}")
    return problems


def json_problems(sample: Sample, expected: Any, raw: bytes) -> list[str]:
    try:
        actual = json.loads(raw)
    except ValueError:
        return [f"response is not JSON: {raw[:300]!r}"]
    if sample.fields is not None:
        if not isinstance(actual, dict):
            return [f"fields {sample.fields} need a JSON object, got {type(actual).__name__}"]
        missing = [name for name in sample.fields if name not in actual]
        if missing:
            return [f"response lacks fields {missing}"]
        expected = {name: expected[name] for name in sample.fields}
        actual = {name: actual[name] for name in sample.fields}
    return differences(expected, actual, sample.tolerance)


def body_problems(folder: Path, sample: Sample, raw: bytes, chunks: list[bytes] | None = None) -> list[str]:
    """`chunks`: a streamed answer's chunks as sent (raw is them joined)."""
    expected = sample_expected(folder, sample)
    if sample.compare_as == "chunks":
        got = [chunk.decode(errors="replace") for chunk in chunks or []]
        return [] if got == expected else [f"chunks: expected {expected!r}, got {got!r}"[:600]]
    if sample.compare_as == "json":
        return json_problems(sample, expected, raw)
    if sample.compare_as == "binary":
        if raw == expected:
            return []
        digests = [hashlib.sha256(item).hexdigest()[:12] for item in (expected, raw)]
        return [f"body: expected {len(expected)} bytes (sha256 {digests[0]}), got {len(raw)} (sha256 {digests[1]})"]
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return [f"body is not UTF-8 text: {raw[:100]!r}"]
    if sample.compare_as == "regex":
        return [] if re.fullmatch(expected, text) else [f"body {text[:300]!r} does not match {expected!r}"]

    return [] if text == expected else [f"body: expected {expected[:300]!r}, got {text[:300]!r}"]


def check_sample(target: Target, folder: Path, sample: Sample) -> list[str]:
    """What is wrong with the answer to one sample (empty when it passes); `target` is a port or a unix socket."""
    headers = dict(sample.headers)
    body = None
    if sample.method == "POST":
        body = sample_request(folder, sample)
        headers.setdefault("Content-Type", sample.request_content_type())
    path = sample_target(folder, sample)
    chunks, stream_problems = None, []
    try:
        if sample.is_streamed:
            status, response_headers, chunks, stream_problems = streamed_request(
                target, sample.method, path, body, headers
            )
            raw = b"".join(chunks)
        else:
            status, response_headers, raw = request(target, sample.method, path, body, headers)
    except http.client.IncompleteRead as error:
        return [f"sample {sample.name}: the answer was cut after {len(error.partial)} bytes"]
    if status != sample.status:
        return [f"sample {sample.name}: HTTP {status} (expected {sample.status}): {raw[:300]!r}"]
    problems = stream_problems + header_problems(sample, response_headers) + body_problems(folder, sample, raw, chunks)
    return [f"sample {sample.name}: {item}" for item in problems]


def streamed_request(
    target: Target, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, http.client.HTTPMessage, list[bytes], list[str]]:
    """A streamed answer read as framed on the wire: (status, headers, its chunks, problems with its framing)."""
    connection = connect(target)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        if (response.headers.get("Transfer-Encoding") or "").lower() != "chunked":
            return response.status, response.headers, [response.read()], ["not streamed: it came whole, not chunked"]
        chunks, complete = read_chunks(response.fp)
        problems = [] if complete else [f"the stream was cut after {len(chunks)} chunks (no closing chunk)"]
        return response.status, response.headers, chunks, problems
    finally:
        connection.close()


def read_chunks(stream: Any) -> tuple[list[bytes], bool]:
    """HTTP/1.1 chunks as sent, and whether the closing chunk came (trailers are not read)."""
    chunks: list[bytes] = []
    while True:
        line = stream.readline(1024)
        try:
            size = int(line.split(b";")[0], 16)
        except ValueError:
            return chunks, False
        if size == 0:
            return chunks, True
        data = stream.read(size)
        if len(data) < size or stream.read(2) != b"\r\n":
            return chunks, False
        chunks.append(data)


def missing_triton_metrics(target: Target) -> list[str]:
    try:
        status, _, body = request(target, "GET", "/metrics")
    except OSError as error:
        return [f"GET /metrics failed: {error}"]
    exposition = body.decode(errors="replace")
    missing = [name for name in TRITON_METRICS if f"\n{name}{{" not in exposition]
    if status != 200 or missing:
        return [f"GET /metrics (HTTP {status}) lacks Triton's {', '.join(missing) or 'metrics'}"]
    return []


def smoke_test(
    docker_client: sdk.DockerClient,
    image: str,
    spec: ImageSpec,
    folder: Path,
    environment: dict[str, str] | None = None,
    user: str | None = None,
) -> SmokeReport:
    """Health, Triton inside, every sample and Triton's metrics; `environment` adds settings as a platform would,
    `user` runs it as another uid.
    An image whose models are mounted gets them read-only at their mount points (kit/verify/model_mounts.py)."""
    report = SmokeReport(samples_total=len(spec.samples))
    with isolated_run(f"triton-kit-smoke-{spec.name}") as isolated, staged_mounts(folder, spec) as mounts:
        name = f"triton-kit-smoke-{spec.name}-{isolated.socket_path.parent.name.rsplit('-', 1)[-1]}"
        options = dict(isolated.options)
        options["environment"] = {**options.get("environment", {}), **(environment or {})}
        # Registered model folders of a mount: true image, read-only where Azure ML mounts them.
        options["volumes"] = {**options.get("volumes", {}), **mounts.volumes}
        report.mounted_models = mounts.models
        if user is not None:  # e.g. "12345:0", a random uid as OpenShift assigns
            options["user"] = user
        with running(docker_client, image, name=name, **options) as container:
            console.print(f"smoke {spec.name}: started {name} (network none, scoring at {isolated.socket_path})")
            target = isolated.socket_path
            ready_timeout_s = image_setting(spec, "TRITON_READY_TIMEOUT")
            report.ready_seconds = wait_until_ready(container, target, ready_timeout_s)
            for label, path in (("GET / (liveness)", "/"), ("GET /ready", "/ready")):
                status = status_of(target, path)
                if status != 200:
                    report.failures.append(f"{label} answered {status}")
            if not triton_ready_inside(container, triton_inside_url(spec)):
                report.failures.append(f"Triton is not ready at {triton_inside_url(spec)} inside the container")
            for sample in spec.samples:
                problems = check_sample(target, folder, sample)
                report.failures += problems
                report.samples_passed += not problems
            report.failures += missing_triton_metrics(target)
            if report.failures:
                report.failures.append(log_report(container, f"container {container.name}"))
    return report
