"""Faults on running containers of a built example: Triton killed, a worker killed, docker stop under load,
and Docker's HEALTHCHECK moving starting -> healthy -> unhealthy."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import docker
import pytest
from docker.models.containers import Container

from kit import PROJECT_ROOT
from kit.docker.containers import free_port, http_status, running, wait_for_http_ok
from kit.spec.image import load_spec, sample_request
from kit.verify.smoke import loopback_environment
from tests.support.waiting import wait_until

pytestmark = pytest.mark.docker
IMAGE = "mlp-classifier:1.0.0"
BODY = sample_request(
    PROJECT_ROOT / "images" / "mlp-classifier", load_spec(PROJECT_ROOT / "images" / "mlp-classifier").samples[0]
)


@dataclass
class Live:
    container: Container
    port: int

    def score(self) -> int:
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("POST", "/score", body=BODY, headers={"Content-Type": "application/json"})
            return connection.getresponse().status
        except OSError:
            return -1  # nothing listening any more
        finally:
            connection.close()

    def pids(self, program: str) -> list[int]:
        """Host PIDs of the container's `program` processes: the executable itself, or `python -m program`."""
        rows = self.container.top(ps_args="-eo pid,args")["Processes"]
        return [int(row[0]) for row in rows if is_program(row[-1].split(), program)]


def is_program(argv: list[str], program: str) -> bool:
    return argv[0].rsplit("/", 1)[-1] == program or argv[1:3] == ["-m", program]


@contextmanager
def live(docker_client: docker.DockerClient, **environment: str) -> Iterator[Live]:
    port = free_port()
    env = {**loopback_environment(port, free_port()), **environment}
    with running(docker_client, IMAGE, environment=env, name=f"triton-kit-fault-{port}") as container:
        wait_for_http_ok(container, f"http://127.0.0.1:{port}/ready", 120)
        yield Live(container, port)


class Load:
    """Threads posting /score in a loop, recording (start time, status)."""

    def __init__(self, target: Live, threads: int = 8) -> None:
        self.target, self.outcomes, self.stop = target, [], threading.Event()
        self.threads = [threading.Thread(target=self.loop) for _ in range(threads)]

    def loop(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            self.outcomes.append((started, self.target.score(), time.monotonic()))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def served(self, after: float = 0.0) -> bool:
        """Whether a request that started after `after` (a monotonic time) was answered 200."""
        return any(status == 200 and started > after for started, status, _ in list(self.outcomes))


def test_triton_killed_readiness_fails_at_once_and_container_exits_nonzero(built_examples, docker_client) -> None:
    with live(docker_client) as target, Load(target) as load:
        wait_until(load.served, what="a request served before the kill")
        (triton_pid,) = target.pids("tritonserver")
        killed_at = time.monotonic()
        os.kill(triton_pid, signal.SIGKILL)  # a process of our own container, by host PID
        ready = http_status(f"http://127.0.0.1:{target.port}/ready", timeout_s=1)
        result = target.container.wait(timeout=5)
        exited_after = time.monotonic() - killed_at
    assert ready in (503, None)  # 503 from the app, or nothing listening once the supervisor stopped it
    assert result["StatusCode"] != 0 and exited_after <= 5.0
    assert any(status == 200 for started, status, _ in load.outcomes if started < killed_at)
    assert not [status for started, status, _ in load.outcomes if started > killed_at + 0.05 and status == 200]


def test_killed_worker_is_replaced_and_service_continues(built_examples, docker_client) -> None:
    with live(docker_client, WORKER_COUNT="2") as target:
        master = min(target.pids("gunicorn"))
        workers = [pid for pid in target.pids("gunicorn") if pid != master]
        assert len(workers) == 2
        with Load(target, threads=4) as load:
            wait_until(load.served, what="a request served before the kill")
            os.kill(workers[0], signal.SIGKILL)

            def replaced() -> list[int] | None:
                current = [pid for pid in target.pids("gunicorn") if pid != master]
                return current if len(current) == 2 and workers[0] not in current else None

            current = wait_until(replaced, 15, "the killed worker replaced", poll_s=0.2)
            replaced_at = time.monotonic()
            wait_until(lambda: load.served(after=replaced_at), what="a request served after the replacement")
        assert workers[0] not in current and len(current) == 2
        assert target.score() == 200
        failures = [status for _, status, _ in load.outcomes if status != 200]
        assert len(failures) <= 4, failures  # only what that worker had in flight
        assert target.container.status == "running"


def test_docker_stop_under_load_completes_in_flight_and_exits_0(built_examples, docker_client) -> None:
    with live(docker_client) as target:
        with Load(target, threads=16) as load:
            wait_until(load.served, what="a request served before the stop")
            stopped_at = time.monotonic()
            target.container.stop(timeout=30)
            stop_seconds = time.monotonic() - stopped_at
        target.container.reload()
        assert target.container.attrs["State"]["ExitCode"] == 0, target.container.logs(tail=30)
        assert stop_seconds < 30
        in_flight = [status for started, status, ended in load.outcomes if started < stopped_at < ended]
        assert in_flight and all(status == 200 for status in in_flight), in_flight
        assert not [status for _, status, _ in load.outcomes if status not in (200, -1)]


def health(container: Container) -> str:
    container.reload()
    return container.attrs["State"].get("Health", {}).get("Status", "none")


def test_healthcheck_moves_starting_healthy_unhealthy(built_examples, docker_client) -> None:
    port = free_port()
    env = loopback_environment(port, free_port())
    # Docker's own probe on a short cadence for the test; the image's is 10 s with a 300 s start period.
    probe = {
        "test": ["CMD", "/usr/bin/python3", "-m", "scoring.healthcheck"],
        "interval": 1_000_000_000,
        "timeout": 3_000_000_000,
        "retries": 2,
        "start_period": 60_000_000_000,
    }
    with running(
        docker_client, IMAGE, environment=env, healthcheck=probe, name=f"triton-kit-health-{port}"
    ) as container:
        assert health(container) == "starting"
        wait_until(lambda: health(container) == "healthy", 90, lambda: container.logs(tail=30).decode(), poll_s=0.5)
        # Stop Triton's answers without ending the container: pause the tritonserver process.
        (triton_pid,) = Live(container, port).pids("tritonserver")
        os.kill(triton_pid, signal.SIGSTOP)
        try:
            wait_until(lambda: health(container) == "unhealthy", 30, "unhealthy with Triton paused", poll_s=0.5)
        finally:
            os.kill(triton_pid, signal.SIGCONT)
