"""What an orchestrator sees: Triton's metrics on the scoring port, JSON log lines, readiness while stopping."""

from __future__ import annotations

import json
import re
import signal
import threading
from pathlib import Path

from kit.docker.containers import free_port
from tests.runtime.conftest import Service, StartService
from tests.support.waiting import wait_until

METRICS_ON = "--allow-grpc=false --allow-gpu-metrics=false"


def metric(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample; fails when the exposition lacks it."""
    for line in exposition.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
            if all(found.get(key) == value for key, value in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{labels} in /metrics:\n{exposition[:3000]}")


def scrape(service: Service) -> str:
    status, headers, body = service.request("GET", "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    return body.decode()


def test_metrics_carry_triton_inference_metrics_next_to_the_front_ends(start_service: StartService) -> None:
    metrics_port = free_port()
    service = start_service(TRITON_ARGS=METRICS_ON, TRITON_METRICS_PORT=str(metrics_port))
    for _ in range(3):
        assert service.score({"op": "infer", "data": [[0.5] * 8]})[0] == 200
    exposition = scrape(service)
    assert metric(exposition, "nv_inference_request_success", model="mlp", version="1") == 3
    assert metric(exposition, "nv_inference_count", model="mlp", version="1") == 3
    assert metric(exposition, "nv_inference_queue_duration_us", model="mlp", version="1") > 0
    assert metric(exposition, "nv_inference_compute_infer_duration_us", model="mlp", version="1") > 0
    assert metric(exposition, "scoring_requests_total", route="/score", method="POST", status="200") == 3
    assert metric(exposition, "scoring_triton_metrics_up") == 1
    # Triton's own metrics port stays on loopback (TRITON_LOCALHOST_ONLY, the default).
    (command,) = [line for line in service.log().splitlines() if line.startswith("supervisor: started tritonserver")]
    assert "--metrics-address=127.0.0.1" in command and f"--metrics-port={metrics_port}" in command


def test_metrics_without_triton_metrics_say_so_and_still_answer(start_service: StartService) -> None:
    service = start_service()  # the tier's default: --allow-metrics=false
    exposition = scrape(service)
    assert metric(exposition, "scoring_triton_metrics_up") == 0
    assert "nv_inference" not in exposition
    assert "scoring_request_duration_seconds" in exposition


def json_lines(log: str) -> list[dict]:
    entries = []
    for line in log.splitlines():
        if line.strip():
            try:
                entries.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"a log line is not JSON: {line!r}") from None
    return entries


def test_json_logs_put_every_line_in_json_with_the_request_id(start_service: StartService) -> None:
    service = start_service(LOG_FORMAT="json")
    status, headers, _ = service.score({"op": "fail"}, headers={"x-request-id": "req-json-1"})
    assert status == 500 and headers["x-request-id"] == "req-json-1"
    assert service.score({"op": "infer", "data": [[0.5] * 8]})[0] == 200
    service.stop()
    entries = json_lines(service.log())
    sources = {entry["logger"] for entry in entries}
    assert {"supervisor", "tritonserver", "scoring"} <= sources, sources
    failed = [entry for entry in entries if "run() failed" in entry["message"]]
    assert len(failed) == 1, failed
    assert failed[0]["request_id"] == "req-json-1"
    assert failed[0]["level"] == "ERROR"
    assert "the scoring function exploded" in failed[0]["message"]
    assert all(set(entry) >= {"time", "level", "logger", "pid", "request_id", "message"} for entry in entries)


def test_text_logs_stay_text_by_default(start_service: StartService) -> None:
    service = start_service()
    assert service.score({"op": "fail"}, headers={"x-request-id": "req-text-1"})[0] == 500
    service.stop()
    log = service.log()
    assert "supervisor: started tritonserver" in log
    assert re.search(r"ERROR \[\d+\] scoring: request req-text-1: run\(\) failed", log), log[-3000:]


def test_sigterm_turns_readiness_503_at_once_while_requests_finish(start_service: StartService, tmp_path: Path) -> None:
    service = start_service(DRAIN_DELAY="3")
    slow: list[int] = []
    entered = tmp_path / "entered"
    entered.mkdir()
    request = {"op": "sleep", "seconds": 2.0, "entered": str(entered)}  # a slow run(): the sleep is the behaviour
    threads = [threading.Thread(target=lambda: slow.append(service.score(request)[0])) for _ in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(list(entered.iterdir())) == 4, what="the four requests inside run()")
    service.process.send_signal(signal.SIGTERM)

    def readiness_after_the_signal() -> tuple | None:  # the signal is handled asynchronously
        answer = service.request("GET", "/ready")
        return answer if answer[0] != 200 else None

    ready = wait_until(readiness_after_the_signal, 10, "readiness leaving 200 after SIGTERM")
    assert ready[0] == 503
    assert b"stopping" in ready[2]
    # Still serving during the drain delay: a load balancer that has not yet seen the 503 loses nothing.
    assert service.score({"op": "echo"})[0] == 200
    assert service.request("GET", "/")[0] == 200
    for thread in threads:
        thread.join(timeout=30)
    assert slow == [200] * 4
    assert service.process.wait(timeout=30) == 0, service.log()[-3000:]
    log = service.log()
    assert "supervisor: DRAIN_DELAY=3 s passed; stopping gunicorn" in log
    assert "supervisor: exiting with 0" in log
