"""`make bench`: our /score against direct Triton and the azureml peer, dynamic batching on and off, one run.

python -m bench.run [--smoke] [--seconds 10] [--concurrency 1,8,32,64] [--models tiny,heavy] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench.load import Body, LoadResult, run_wrk
from bench.report import write_report
from bench.targets import MODELS, ImageTarget, Model, build_images, image_target, peer_target
from kit.docker.client import client

PATHS = ("direct-json", "direct-binary", "score", "peer", "score-nobatch")


@dataclass
class Measurement:
    model: str
    path: str
    concurrency: int
    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    batching_factor: float | None = None
    front_end_cpu_us: float | None = None


def request_bodies(model: Model, folder: Path) -> dict[str, Body]:
    """The same single-row input for every path, in each path's own wire format."""
    row = np.random.default_rng(42).standard_normal((1, model.features)).astype(np.float32)
    score = folder / f"{model.key}-score.json"
    score.write_text(json.dumps({"data": row.tolist()}))
    tensor = {"name": "x", "shape": [1, model.features], "datatype": "FP32"}
    direct_json = folder / f"{model.key}-direct.json"
    direct_json.write_text(
        json.dumps({"inputs": [{**tensor, "data": row.reshape(-1).tolist()}], "outputs": [{"name": "probabilities"}]})
    )
    header = json.dumps(
        {
            "inputs": [{**tensor, "parameters": {"binary_data_size": row.nbytes}}],
            "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}}],
        }
    ).encode()
    direct_binary = folder / f"{model.key}-direct.bin"
    direct_binary.write_bytes(header + row.tobytes())
    return {
        "score": Body(score),
        "direct-json": Body(direct_json),
        "direct-binary": Body(direct_binary, "application/octet-stream", len(header)),
    }


def measure(
    target: ImageTarget | None, model: Model, path: str, url: str, body: Body, concurrency: int, seconds: float
) -> Measurement:
    before = target.stats(model.triton_model) if target else None
    cpu_before = target.front_end_cpu_seconds() if target and path.startswith("score") else None
    result: LoadResult = run_wrk(url, body, concurrency, seconds)
    measurement = Measurement(
        model.key,
        path,
        concurrency,
        result.requests,
        round(result.rate, 1),
        round(result.p50_ms, 2),
        round(result.p99_ms, 2),
        result.errors,
    )
    if target and before:
        inferences, executions = (
            now - then for now, then in zip(target.stats(model.triton_model), before, strict=True)
        )
        measurement.batching_factor = round(inferences / executions, 2) if executions else None
    if target and cpu_before is not None and result.requests:
        spent = target.front_end_cpu_seconds() - cpu_before
        measurement.front_end_cpu_us = round(spent * 1e6 / result.requests, 1)
    print(
        f"bench {model.key:5} {path:14} c={concurrency:<3} {measurement.rate:9.1f} req/s"
        f"  p50 {measurement.p50_ms:7.2f} ms  p99 {measurement.p99_ms:7.2f} ms  errors {measurement.errors}"
        f"  batch {measurement.batching_factor}  front-end {measurement.front_end_cpu_us} us/req",
        flush=True,
    )
    return measurement


def bench_model(docker_client, model: Model, arguments: argparse.Namespace, work: Path) -> list[Measurement]:
    bodies = request_bodies(model, work)
    levels, seconds = arguments.concurrency, arguments.seconds
    results: list[Measurement] = []
    with image_target(docker_client, f"{model.image}:1.0.0", arguments.workers) as target:
        for concurrency in levels:
            run_wrk(target.score_url, bodies["score"], concurrency, min(seconds, 2))  # warm-up, not recorded
            results.append(
                measure(
                    target,
                    model,
                    "direct-json",
                    target.triton_url(model.triton_model),
                    bodies["direct-json"],
                    concurrency,
                    seconds,
                )
            )
            results.append(
                measure(
                    target,
                    model,
                    "direct-binary",
                    target.triton_url(model.triton_model),
                    bodies["direct-binary"],
                    concurrency,
                    seconds,
                )
            )
            results.append(measure(target, model, "score", target.score_url, bodies["score"], concurrency, seconds))
    with image_target(docker_client, f"{model.image}-nobatch:1.0.0", arguments.workers) as target:
        for concurrency in levels:
            run_wrk(target.score_url, bodies["score"], concurrency, min(seconds, 2))
            results.append(
                measure(target, model, "score-nobatch", target.score_url, bodies["score"], concurrency, seconds)
            )
    with peer_target(arguments.peer_python, model, arguments.peer_workers, work) as url:
        for concurrency in levels:
            run_wrk(url, bodies["score"], concurrency, min(seconds, 2))
            results.append(measure(None, model, "peer", url, bodies["score"], concurrency, seconds))
    return results


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="1 s at concurrency 2 on the tiny model only")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", default="1,8,32,64")
    parser.add_argument("--models", default="tiny,heavy")
    parser.add_argument("--workers", type=int, default=1, help="WORKER_COUNT of our images")
    parser.add_argument("--peer-workers", type=int, default=os.cpu_count() or 1, help="the peer's WORKER_COUNT")
    parser.add_argument("--peer-python", type=Path, default=Path(".venv-bench/bin/python"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    arguments = parser.parse_args(argv)
    if arguments.smoke:
        arguments.seconds, arguments.concurrency, arguments.models = 1.0, "2", "tiny"
    arguments.concurrency = [int(level) for level in arguments.concurrency.split(",")]
    arguments.models = [MODELS[key] for key in arguments.models.split(",")]
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse(argv)
    docker_client = client()
    build_images(docker_client, arguments.models)
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="triton-kit-bench-") as work:
        for model in arguments.models:
            results += bench_model(docker_client, model, arguments, Path(work))
    paths = write_report([asdict(result) for result in results], arguments)
    print("bench: wrote " + ", ".join(str(path) for path in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
