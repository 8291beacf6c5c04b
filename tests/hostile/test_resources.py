"""Resource faults: a runaway run() is stopped by the worker's memory cap and the service keeps serving with memory
back at its baseline; running out of file descriptors is logged and recovered from."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench.attacks import run_attack
from tests.hostile.conftest import APPS, GENERAL_APP, INFER, LEGITIMATE, StartService
from tests.runtime.conftest import Service

MEMORY_LIMIT_MB = 400
SETTLE_S = 30


def worker_pids(service: Service) -> list[int]:
    master = service.child_pid("gunicorn")
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return pids


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("inf")  # exited meanwhile
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024


def score_ok(service: Service) -> bool:
    try:
        return service.request("POST", "/score", INFER, {"Content-Type": "application/json"})[0] == 200
    except OSError:
        return False


def test_runaway_run_is_stopped_and_memory_returns(start_service: StartService) -> None:
    service = start_service(APPS / "hog", WORKER_MEMORY_LIMIT_MB=str(MEMORY_LIMIT_MB))
    assert score_ok(service)
    (worker,) = worker_pids(service)
    baseline = rss_mb(worker)
    try:
        status = service.request("POST", "/score", json.dumps({"op": "hog"}))[0]
    except OSError:
        status = 0  # the worker was restarted under the request
    assert status in (0, 500)
    deadline, settled = time.monotonic() + SETTLE_S, False
    while not settled and time.monotonic() < deadline:  # the worker may still be draining before its restart
        pids = worker_pids(service)
        settled = score_ok(service) and len(pids) == 1 and rss_mb(pids[0]) < baseline + 50
        time.sleep(0.5)
    assert settled, f"workers {[(pid, round(rss_mb(pid))) for pid in worker_pids(service)]}, baseline {baseline:.0f} MB"
    assert score_ok(service)
    assert "MemoryError" in service.log() or "restarting it" in service.log()
    assert service.process.poll() is None


def test_out_of_file_descriptors_is_logged_and_recovered(start_service: StartService) -> None:
    service = start_service(GENERAL_APP, nofile=256)
    result = run_attack(service.port, "half-open", 400, 4, LEGITIMATE)  # more sockets than the worker may open
    assert result.connected > 0
    assert "out of file descriptors" in service.log()
    # The attackers have gone; new connections are accepted again.
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline and not score_ok(service):
        time.sleep(0.5)
    assert score_ok(service)
    assert service.process.poll() is None
