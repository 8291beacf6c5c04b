"""Where the front end's time goes: py-spy samples of the scoring processes during a load run, summed by component.

py-spy samples wall time, so on a shared machine time spent waiting for a CPU inside a socket call is counted there;
the summary keeps it apart ("socket send/recv"), drops idle waits, and splits the rest by component.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

HTTP_LAYER = "HTTP layer (llhttp, scoring.http_worker)"
# First match from the innermost frame outwards names the component; order matters (specific before general).
COMPONENTS = (
    ("scoring/coalesce.py", "coalescing (scoring.coalesce)"),
    ("scoring/triton_wire.py", "Triton exchange (scoring.triton_wire)"),
    ("scoring/triton.py", "Triton client (scoring.triton)"),
    ("tritonclient/", "tritonclient"),
    ("geventhttpclient/", "tritonclient"),
    ("prometheus_client/", "metrics (prometheus_client)"),
    ("scoring/metrics.py", "metrics (prometheus_client)"),
    ("score.py", "entry script run()"),
    ("scoring/app.py", "scoring app (scoring.app)"),
    ("scoring/responses.py", "scoring app (scoring.app)"),
    ("scoring/errors.py", "scoring app (scoring.app)"),
    ("scoring/http_parser.py", HTTP_LAYER),
    ("scoring/http_worker.py", HTTP_LAYER),
    ("scoring/wsgi_bridge.py", HTTP_LAYER),
    ("httptools/", HTTP_LAYER),
    ("gevent/pywsgi.py", "HTTP server (gevent.pywsgi)"),
    ("scoring/server.py", "HTTP server (gevent.pywsgi)"),
    ("gunicorn/", "Gunicorn"),
    ("gevent/", "gevent hub and sockets"),
)
SOCKET_WAIT = "socket send/recv (kernel, and waiting for a CPU)"
IDLE = "idle"
# Waiting frames: py-spy's idle detection does not work on processes in a container, so they are dropped by name.
IDLE_LEAVES = ("wait_for_signals (", "acquire_with_timeout (", "Hub.run (gevent/hub.py", "sleep (gevent/hub.py")


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start(pids: list[int], seconds: float, out: Path) -> list[subprocess.Popen]:
    """One py-spy per process (raw collapsed stacks), running `seconds` in the background."""
    tool = py_spy()
    if tool is None:
        raise RuntimeError("py-spy is not installed: make venv installs it (pyproject dev extra)")
    return [
        subprocess.Popen(
            [
                tool,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                "250",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(out.with_suffix(f".{pid}.txt")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=out.with_suffix(f".{pid}.log").open("wb"),
        )
        for pid in pids
    ]


def finish(processes: list[subprocess.Popen], out: Path) -> Counter[str]:
    samples: Counter[str] = Counter()
    for process in processes:
        process.wait(timeout=120)
    for path in out.parent.glob(out.with_suffix("").name + ".*.txt"):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if count.isdigit():
                samples[component(stack.split(";"))] += int(count)
    return samples


def component(frames: list[str]) -> str:
    leaf = frames[-1]
    if any(marker in leaf for marker in IDLE_LEAVES):
        return IDLE
    if "_socketcommon.py" in leaf and any(call in leaf for call in ("send ", "recv", "sendall")):
        return SOCKET_WAIT
    for frame in reversed(frames):
        for marker, name in COMPONENTS:
            if marker in frame:
                return name
    return "other (stdlib, numpy, json)"


def summary(samples: Counter[str], user_us: float | None, system_us: float | None, top: int = 9) -> list[dict]:
    """Shares of the samples by component, with the measured CPU per request apportioned: kernel time to the socket
    calls, user time over the other components by their share of samples."""
    samples = Counter({name: count for name, count in samples.items() if name != IDLE})
    total = sum(samples.values())
    if not total:
        return []
    busy = total - samples.get(SOCKET_WAIT, 0)
    rows = []
    for name, count in samples.most_common(top):
        row: dict = {"component": name, "share": round(count / total, 3), "us_per_request": None}
        if name == SOCKET_WAIT:
            row["us_per_request"] = system_us
        elif user_us is not None and busy:
            row["us_per_request"] = round(user_us * count / busy, 1)
        rows.append(row)
    return rows
