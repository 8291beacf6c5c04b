"""A runaway run() under `docker run --memory`: the worker's default memory cap (half the container's limit) stops it,
the container keeps serving with Triton untouched, and memory returns to its baseline."""

from __future__ import annotations

import http.client
import json
import time

import docker
import pytest

from kit import PROJECT_ROOT
from kit.docker.containers import free_port, running, wait_for_http_ok
from kit.verify.smoke import loopback_environment

pytestmark = pytest.mark.docker
IMAGE = "mlp-classifier:1.0.0"
HOG_APP = PROJECT_ROOT / "tests" / "hostile" / "apps" / "hog"  # the example's model, a score.py with a runaway op
LEGITIMATE = json.dumps({"data": [[0.5] * 8]})
SETTLE_S = 30


def post(port: int, body: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/score", body=body, headers={"Content-Type": "application/json"})
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def memory_mb(container) -> float:  # type: ignore[no-untyped-def]
    stats = container.stats(stream=False)["memory_stats"]
    return (stats.get("usage", 0) - stats.get("stats", {}).get("cache", 0)) / 2**20


def triton_pids(container) -> list[str]:  # type: ignore[no-untyped-def]
    return [row[0] for row in container.top(ps_args="-eo pid,args")["Processes"] if "tritonserver" in row[-1]]


def test_runaway_run_under_docker_memory(built_examples, docker_client: docker.DockerClient) -> None:
    port = free_port()
    environment = {**loopback_environment(port, free_port()), "AML_APP_ROOT": "/hog"}
    volumes = {str(HOG_APP): {"bind": "/hog", "mode": "ro"}}
    with running(
        docker_client, IMAGE, environment=environment, volumes=volumes, mem_limit="1g", name=f"triton-kit-hog-{port}"
    ) as container:
        wait_for_http_ok(container, f"http://127.0.0.1:{port}/ready", 120)
        assert post(port, LEGITIMATE) == 200  # answered: the baseline is the served state, nothing to wait for
        baseline, triton = memory_mb(container), triton_pids(container)
        assert post(port, json.dumps({"op": "hog"})) in (0, 500)  # 0: its worker restarted under it
        deadline = time.monotonic() + SETTLE_S
        settled = False
        while not settled and time.monotonic() < deadline:
            settled = post(port, LEGITIMATE) == 200 and memory_mb(container) < baseline + 50
            time.sleep(0.5)
        assert post(port, LEGITIMATE) == 200
        assert memory_mb(container) < baseline + 50
        assert triton_pids(container) == triton
        container.reload()
        assert container.status == "running"
        assert "memory cap 512 MB (auto" in container.logs().decode()
