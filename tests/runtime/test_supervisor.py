"""The supervisor's process contract: drain on SIGTERM, die loudly with Triton, report init() failures."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

from tests.runtime.conftest import Service, StartService
from tests.support.leftovers import live_processes, read_process
from tests.support.waiting import wait_until


def test_sigterm_during_load_completes_in_flight_requests_and_exits_0(
    start_service: StartService, tmp_path: Path
) -> None:
    service = start_service()
    results: list[int] = []
    entered = tmp_path / "entered"
    entered.mkdir()

    def slow_request() -> None:
        results.append(service.score({"op": "sleep", "seconds": 1.5, "entered": str(entered)})[0])

    threads = [threading.Thread(target=slow_request) for _ in range(16)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(list(entered.iterdir())) == 16, what="16 requests inside run()")
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
    wait_until(lambda: any(status == 200 for _, status in outcomes), what="a request served before the kill")
    triton_pid = service.child_pid("tritonserver")
    assert triton_pid is not None
    stubs = [process for process in live_processes().values() if process.ppid == triton_pid]
    assert any("triton_python_backend_stub" in stub.command for stub in stubs), stubs
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
    # What Triton started (its python backend stubs, holding shared memory) went with it.
    remaining = [
        stub
        for stub in stubs
        if (found := read_process(stub.pid)) and found.command == stub.command and found.state != "Z"
    ]
    assert not remaining, remaining


LINGERING_LAUNCHER = """#!/bin/sh
# tritonserver, after starting a process in its group that does not exit when tritonserver dies (like a python
# backend stub stuck in a call, which is not reliably reproducible): the supervisor must end it.
sleep 600 &
echo $! > "{pid_file}"
exec "{tritonserver}" "$@"
"""


def test_triton_killed_takes_what_it_started_along(
    start_service: StartService, host_tritonserver: Path, tmp_path: Path
) -> None:
    launcher, pid_file = tmp_path / "tritonserver", tmp_path / "lingering.pid"
    launcher.write_text(LINGERING_LAUNCHER.format(pid_file=pid_file, tritonserver=host_tritonserver))
    launcher.chmod(0o755)
    service = start_service(TRITONSERVER=str(launcher))
    lingering = read_process(int(pid_file.read_text()))
    triton_pid = service.child_pid("tritonserver")
    assert lingering is not None and triton_pid is not None and "sleep 600" in lingering.command
    try:
        os.kill(triton_pid, signal.SIGKILL)
        assert service.process.wait(timeout=60) == 1, service.log()[-3000:]
        assert re.search(r"tritonserver left \d+ process\(es\) behind; killing its process group", service.log())
        after = read_process(lingering.pid)
        assert after is None or after.state == "Z" or after.command != lingering.command, after
    finally:
        if (still := read_process(lingering.pid)) and still.command == lingering.command:
            os.kill(lingering.pid, signal.SIGKILL)


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
    wait_until(lambda: service.request("GET", "/")[0], 90, "the supervisor binding the port", ignoring=(OSError,))

    def look() -> bool:
        try:
            liveness = service.request("GET", "/")[0]
        except OSError:
            liveness = -1
        readiness = service.request("GET", "/ready")[0]
        score = service.request("POST", "/score", b'{"op": "echo"}')[0]
        probes.append((liveness, readiness, score))
        return readiness == 200

    wait_until(look, 90, lambda: f"readiness 200; probes {probes}", poll_s=0.1)
    loading = [probe for probe in probes if probe[1] != 200]
    assert len(loading) >= 10, probes  # several seconds of model loading were observed
    assert all(probe == (200, 503, 503) for probe in loading), loading
    assert probes[-1][1] == 200 and probes[-1][2] == 200
    assert service.process.poll() is None
