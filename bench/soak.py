"""`make soak`: 20,000+ requests at concurrency 64 through /score of a built image; 0 errors and stable memory.

Worker memory (RSS of the Gunicorn processes, sampled every second) must grow less than 10% between the end of the
warm-up (the first quarter of the run) and the end. Exit 0 only when both hold.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

from bench.load import run_wrk
from bench.run import request_bodies
from bench.targets import MODELS, build_images, image_target
from kit.docker.client import client

REQUESTS = 20_000
CONCURRENCY = 64
MAX_GROWTH = 0.10


def gunicorn_rss_kib(container) -> int:
    total = 0
    for row in container.top(ps_args="-eo pid,args")["Processes"]:
        if "gunicorn" in row[-1]:
            try:
                status = Path(f"/proc/{row[0]}/status").read_text()
            except OSError:
                continue
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return total


def main() -> int:
    docker_client = client()
    model = MODELS["tiny"]
    build_images(docker_client, [model])
    with tempfile.TemporaryDirectory() as work, image_target(docker_client, f"{model.image}:1.0.0", 1) as target:
        body = request_bodies(model, Path(work))["score"]
        samples: list[int] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(1.0):
                samples.append(gunicorn_rss_kib(target.container))

        sampler = threading.Thread(target=sample)
        sampler.start()
        total, errors, seconds = 0, 0, 0.0
        try:
            while total < REQUESTS:  # bounded: at most 5 rounds of 15 s
                result = run_wrk(target.score_url, body, CONCURRENCY, 15)
                total, errors, seconds = total + result.requests, errors + result.errors, seconds + result.seconds
                if seconds > 75:
                    break
        finally:
            done.set()
            sampler.join()
    warm = samples[len(samples) // 4] if samples else 0
    growth = (samples[-1] - warm) / warm if warm else float("inf")
    print(
        f"soak: {total} requests in {seconds:.1f} s ({total / seconds:.0f} req/s), concurrency {CONCURRENCY}, "
        f"{errors} errors"
    )
    print(
        f"soak: gunicorn RSS after warm-up {warm / 1024:.1f} MiB, at the end {samples[-1] / 1024:.1f} MiB, "
        f"growth {growth:+.1%} (limit {MAX_GROWTH:.0%}); samples: {len(samples)}"
    )
    ok = total >= REQUESTS and errors == 0 and growth < MAX_GROWTH
    print("soak: " + ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
