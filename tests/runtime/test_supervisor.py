"""The supervisor's process contract: drain on SIGTERM, die loudly with Triton, report init() failures."""

from __future__ import annotations

import os
import signal
import threading
import time

from tests.runtime.conftest import Service, StartService


def test_sigterm_during_load_completes_in_flight_requests_and_exits_0(start_service: StartService) -> None:
    service = start_service()
    results: list[int] = []

    def slow_request() -> None:
        results.append(service.score({"op": "sleep", "seconds": 1.5})[0])

    threads = [threading.Thread(target=slow_request) for _ in range(16)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # all 16 are now inside run()
    service.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=30)
    assert results == [200] * 16
    assert service.process.wait(timeout=30) == 0, service.log()[-3000:]
    log = service.log()
    assert "supervisor: received SIGTERM; draining" in log
    assert "supervisor: exiting with 0" in log


def test_triton_killed_stops_everything_nonzero_within_5_s(start_service: StartService) -> None:
    service = start_service()
    outcomes: list[tuple[float, int]] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                status = service.score({"op": "infer", "data": [[0.5] * 8]})[0]
            except OSError:
                status = -1  # the app is gone: connection refused
            outcomes.append((started, status))

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)
    triton_pid = service.child_pid("tritonserver")
    assert triton_pid is not None
    killed_at = time.monotonic()
    os.kill(triton_pid, signal.SIGKILL)
    try:
        code = service.process.wait(timeout=5)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    assert code != 0
    assert any(status == 200 for started, status in outcomes if started < killed_at)
    after = [status for started, status in outcomes if started > killed_at + 0.01]
    assert 200 not in after, after
    assert "tritonserver exited with -9; stopping gunicorn" in service.log()


def test_init_failure_exits_3_with_the_traceback_logged(start_service: StartService) -> None:
    service = start_service("failing_init", wait=False)
    code = service.process.wait(timeout=90)
    log = service.log()
    assert code == 3, log[-3000:]
    assert "init exploded: model file missing" in log
    assert "Traceback" in log


def test_triton_that_never_gets_ready_fails_with_its_log(start_service: StartService, tmp_path) -> None:
    broken = tmp_path / "broken-models"
    (broken / "broken" / "1").mkdir(parents=True)
    (broken / "broken" / "1" / "model.onnx").write_bytes(b"not onnx")
    service = start_service(wait=False, TRITON_MODEL_REPOSITORY=str(broken))
    assert service.process.wait(timeout=90) == 1
    log = service.log()
    assert "failed to load 'broken'" in log
    assert "tritonserver exited with 1 before it was ready" in log


def test_bad_setting_is_named(start_service: StartService) -> None:
    service: Service = start_service(wait=False, WORKER_COUNT="many")
    assert service.process.wait(timeout=30) == 2
    assert "WORKER_COUNT='many' is not an integer" in service.log()


def test_slow_model_loading_liveness_200_readiness_503_then_seamless_handover(start_service, tmp_path) -> None:
    from tests.model_factory import add_onnx_model, add_python_model, mlp_onnx

    repository = tmp_path / "slow-models"
    add_onnx_model(repository, "mlp", mlp_onnx())
    add_python_model(repository, "slow", load_seconds=6)
    service = start_service(wait=False, TRITON_MODEL_REPOSITORY=str(repository))
    probes: list[tuple[int, int, int]] = []  # (liveness, readiness, score) while starting
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            liveness = service.request("GET", "/")[0]
        except OSError:
            liveness = -1
        if liveness == -1 and not probes:
            time.sleep(0.05)  # the supervisor has not bound the port yet
            continue
        readiness = service.request("GET", "/ready")[0]
        score = service.request("POST", "/score", b'{"op": "echo"}')[0]
        probes.append((liveness, readiness, score))
        if readiness == 200:
            break
        time.sleep(0.1)
    loading = [probe for probe in probes if probe[1] != 200]
    assert len(loading) >= 10, probes  # several seconds of model loading were observed
    assert all(probe == (200, 503, 503) for probe in loading), loading
    assert probes[-1][1] == 200 and probes[-1][2] == 200
    assert service.process.poll() is None
