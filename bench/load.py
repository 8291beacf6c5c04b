"""Bounded HTTP load with wrk against 127.0.0.1 only, parsed from the Lua script's JSON summary line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

LUA = Path(__file__).resolve().parent / "lua" / "post_file.lua"


@dataclass(frozen=True)
class Body:
    path: Path
    content_type: str = "application/json"
    header_length: int | None = None  # Triton binary tensor extension


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    url: str, body: Body, connections: int, seconds: float, threads: int = 2, close: bool = False
) -> LoadResult:
    """wrk's summary; `close` sends Connection: close, so every request opens its own connection."""
    host = urlparse(url).hostname
    if host != "127.0.0.1":
        raise ValueError(f"load only goes to 127.0.0.1, not {host}")
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk (make engine installs it)")
    environment = dict(os.environ, WRK_BODY_FILE=str(body.path), WRK_CONTENT_TYPE=body.content_type,
                       WRK_HEADER_LENGTH=str(body.header_length or ""),
                       WRK_CONNECTION_CLOSE="1" if close else "")  # fmt: skip
    command = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{max(seconds, 1):g}s",
               "--timeout", "10s", "-s", str(LUA), url]  # fmt: skip
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((line for line in result.stdout.splitlines() if line.startswith("WRK_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout[-1000:]} {result.stderr[-1000:]}")
    summary = json.loads(line.removeprefix("WRK_JSON "))
    return LoadResult(
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        errors=summary["socket_errors"] + summary["non_2xx"],
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
    )
