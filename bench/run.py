"""`make bench`: our /score against direct Triton and the azureml peer, dynamic batching on and off, one run.

python -m bench.run [--smoke] [--seconds 10] [--concurrency 1,8,32,64] [--models tiny,heavy,seed] [--out bench/results]
python -m bench.run --image <folder>   (make bench IMAGE=<name>: one built image, on its own first sample)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tritonclient.utils import triton_to_np_dtype

from bench import profile
from bench.load import Body, LoadResult, run_wrk
from bench.report import PROFILE_CONCURRENCY, machine, write_report
from bench.targets import (
    MODELS,
    ImageTarget,
    Model,
    build_images,
    built_image,
    image_model,
    image_target,
    kserve_target,
    peer_target,
    sample_body,
)
from kit.docker.client import client

PATHS = (
    "direct-json", "direct-binary", "score", "score-pywsgi", "score-close", "peer", "peer-kserve", "score-nobatch",
)  # fmt: skip
OLD_LAYER = {"WORKER_CLASS": "gevent_pywsgi"}  # the A/B: the same image with the previous HTTP layer
GOAL_CONCURRENCY = 32


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
    front_end_user_us: float | None = None
    front_end_system_us: float | None = None
    rows_per_triton_request: float | None = None
    worker_rss_mb: float | None = None
    profile: list[dict] = field(default_factory=list)


def direct_bodies(metadata: dict, folder: Path, key: str, rows: int = 1) -> tuple[dict[str, Body], np.ndarray | None]:
    """One request of `rows` rows for Triton directly, in JSON and binary form, built from the model's metadata."""
    rng = np.random.default_rng(42)
    tensors, arrays = [], []
    for tensor in metadata["inputs"]:
        if tensor["datatype"] == "BYTES":
            return {}, None  # string inputs: no direct path (its /score is still measured)
        shape = [rows if size < 0 else size for size in tensor["shape"]]
        array = rng.standard_normal(shape).astype(triton_to_np_dtype(tensor["datatype"]))
        tensors.append({"name": tensor["name"], "shape": shape, "datatype": tensor["datatype"]})
        arrays.append(array)
    outputs = [metadata["outputs"][0]["name"]]  # what the examples' /score requests
    direct_json = folder / f"{key}-direct.json"
    pairs = list(zip(tensors, arrays, strict=True))
    direct_json.write_text(json.dumps({
        "inputs": [{**tensor, "data": array.reshape(-1).tolist()} for tensor, array in pairs],
        "outputs": [{"name": name} for name in outputs],
    }))  # fmt: skip
    header = json.dumps({
        "inputs": [{**tensor, "parameters": {"binary_data_size": array.nbytes}} for tensor, array in pairs],
        "outputs": [{"name": name, "parameters": {"binary_data": True}} for name in outputs],
    }).encode()  # fmt: skip
    direct_binary = folder / f"{key}-direct.bin"
    direct_binary.write_bytes(header + b"".join(array.tobytes() for array in arrays))
    bodies = {
        "direct-json": Body(direct_json),
        "direct-binary": Body(direct_binary, "application/octet-stream", len(header)),
    }
    return bodies, arrays[0]


def score_body(model: Model, first_input: np.ndarray | None, folder: Path) -> Body:
    """The same row(s) as the direct paths for the kit's models; the image's own first sample for IMAGE=..."""
    path = folder / f"{model.key}-score.json"
    if model.own_samples or first_input is None:
        path.write_bytes(sample_body(model))
    else:
        path.write_text(json.dumps({"data": first_input.tolist()}))
    return Body(path)


def measure(
    target: ImageTarget | None,
    model: Model,
    path: str,
    url: str,
    body: Body,
    concurrency: int,
    seconds: float,
    work: Path | None = None,
) -> Measurement:
    """One load run; with `work`, a /score path also gets a profile run. score-close: a connection per request."""
    triton_model = model.triton_model
    before = target.stats(triton_model) if target and triton_model else None
    cpu_before = target.front_end_cpu_seconds() if target and path.startswith("score") else None
    result: LoadResult = run_wrk(url, body, concurrency, seconds, close=path == "score-close")
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
    if target and before and triton_model:
        rows, executions, requests = (now - then for now, then in zip(target.stats(triton_model), before, strict=True))
        measurement.batching_factor = round(rows / executions, 2) if executions else None
        measurement.rows_per_triton_request = round(rows / requests, 2) if requests else None
    if target and cpu_before is not None and result.requests:
        user, system = (now - then for now, then in zip(target.front_end_cpu_seconds(), cpu_before, strict=True))
        measurement.front_end_cpu_us = round((user + system) * 1e6 / result.requests, 1)
        measurement.front_end_user_us = round(user * 1e6 / result.requests, 1)
        measurement.front_end_system_us = round(system * 1e6 / result.requests, 1)
    if target and path.startswith("score"):
        measurement.worker_rss_mb = target.worker_rss_mb()
    if target and work and path.startswith("score"):
        measurement.profile = profile_run(target, url, body, concurrency, seconds, measurement, work)
    print(
        f"bench {model.key:5} {path:14} c={concurrency:<3} {measurement.rate:9.1f} req/s"
        f"  p50 {measurement.p50_ms:7.2f} ms  p99 {measurement.p99_ms:7.2f} ms  errors {measurement.errors}"
        f"  batch {measurement.batching_factor}  front-end {measurement.front_end_cpu_us} us/req"
        f"  rss {measurement.worker_rss_mb} MB",
        flush=True,
    )
    return measurement


def profile_run(
    target: ImageTarget, url: str, body: Body, concurrency: int, seconds: float, measured: Measurement, work: Path
) -> list[dict]:
    """A separate load run under py-spy (sampling costs CPU, so it never overlaps the measured run)."""
    out = work / f"profile-{measured.model}-{measured.path}"
    spies = profile.start(target.scoring_processes(), seconds, out)
    run_wrk(url, body, concurrency, seconds)
    samples = profile.finish(spies, out)
    return profile.summary(samples, measured.front_end_user_us, measured.front_end_system_us)


def bench_model(
    docker_client, model: Model, images: dict[str, str], arguments: argparse.Namespace, work: Path
) -> list[Measurement]:
    """Every path of one model. Our /score runs on two containers of the same image, the default HTTP layer and the
    previous one (gevent's pywsgi), measured alternately at each concurrency so both see the same machine."""
    levels, seconds = arguments.concurrency, arguments.seconds
    profiled = min(levels, key=lambda level: abs(level - PROFILE_CONCURRENCY))
    closing = min(levels, key=lambda level: abs(level - GOAL_CONCURRENCY))
    results: list[Measurement] = []
    image = images[model.image_name]
    # Both layers at once, alternating at each level; a script bound to a fixed Triton port (raw) gets one container
    # at a time: the new layer's pass, then the old one's.
    passes = [("new", "old")] if model.triton_port is None else [("new",), ("old",)]
    bodies: dict[str, Body] = {}
    for layers in passes:
        with contextlib.ExitStack() as stack:
            running = {
                layer: stack.enter_context(
                    image_target(docker_client, image, arguments.workers, model.triton_port,
                                 **(OLD_LAYER if layer == "old" else {}))
                )
                for layer in layers
            }  # fmt: skip
            target, old = running.get("new"), running.get("old")
            first = target or old
            assert first is not None
            if model.triton_model is None:
                model = Model(**{**asdict(model), "triton_model": first.first_model()})
            if not bodies:
                bodies, first_input = direct_bodies(first.get(f"/v2/models/{model.triton_model}"), work, model.key)
                bodies["score"] = jpeg_body(work) if model.raw_jpeg else score_body(model, first_input, work)
            for concurrency in levels:
                for warm in running.values():  # warm-up, not recorded
                    run_wrk(warm.score_url, bodies["score"], concurrency, min(seconds, 2))
                if target is not None:
                    results += new_layer_points(target, model, bodies, concurrency, seconds, profiled, closing, work)
                if old is not None:
                    url = old.score_url
                    results.append(measure(old, model, "score-pywsgi", url, bodies["score"], concurrency, seconds))
            if target is not None and model.kserve:
                results += kserve_peer(arguments, model, target, bodies["score"], levels, seconds, work)
    if model.peer_output is None:
        return results
    if model.batching_off_variant:
        # Triton's batcher off and the front end's coalescing off: every call is one execution.
        nobatch = images[f"{model.image_name}-nobatch"]
        with image_target(docker_client, nobatch, arguments.workers, TRITON_COALESCE_US="off") as target:
            for concurrency in levels:
                run_wrk(target.score_url, bodies["score"], concurrency, min(seconds, 2))
                profile_work = work if concurrency == profiled else None
                url = target.score_url
                results.append(
                    measure(target, model, "score-nobatch", url, bodies["score"], concurrency, seconds, profile_work)
                )
    with peer_target(arguments.peer_python, model, arguments.peer_workers, work) as url:
        for concurrency in levels:
            run_wrk(url, bodies["score"], concurrency, min(seconds, 2))
            results.append(measure(None, model, "peer", url, bodies["score"], concurrency, seconds))
    return results


def new_layer_points(
    target: ImageTarget, model: Model, bodies: dict[str, Body], concurrency: int, seconds: float, profiled: int,
    closing: int, work: Path,
) -> list[Measurement]:  # fmt: skip
    """Triton directly, then /score (profiled at one level), and /score without keep-alive at the goal level."""
    results = []
    for path in ("direct-json", "direct-binary"):
        if path in bodies:
            url = target.triton_url(str(model.triton_model))
            results.append(measure(target, model, path, url, bodies[path], concurrency, seconds))
    profile_work = work if concurrency == profiled else None
    url = target.score_url
    results.append(measure(target, model, "score", url, bodies["score"], concurrency, seconds, profile_work))
    if concurrency == closing:
        results.append(measure(target, model, "score-close", url, bodies["score"], concurrency, seconds))
    return results


def kserve_peer(
    arguments: argparse.Namespace, model: Model, target: ImageTarget, body: Body, levels: list[int], seconds: float,
    work: Path,
) -> list[Measurement]:  # fmt: skip
    """KServe's Python transformer (its documented Triton pattern) calling this image's Triton over HTTP."""
    results = []
    triton = f"127.0.0.1:{target.triton_port}"
    with kserve_target(arguments.kserve_python, model, triton, arguments.peer_workers, work) as url:
        for concurrency in levels:
            run_wrk(url, body, concurrency, min(seconds, 2))
            results.append(measure(None, model, "peer-kserve", url, body, concurrency, seconds))
    return results


def jpeg_body(folder: Path, size: int = 100_000) -> Body:
    """A photo-like JPEG of about `size` bytes (noise over a gradient), as a client posts it."""
    from PIL import Image

    rng = np.random.default_rng(7)
    side = 300
    while True:
        gradient = np.linspace(0, 255, side, dtype=np.float32)[None, :, None] * np.ones((side, 1, 3), np.float32)
        pixels = np.clip(gradient + rng.normal(0, 40, (side, side, 3)), 0, 255).astype(np.uint8)
        path = folder / "raw-100k.jpg"
        Image.fromarray(pixels).save(path, quality=85)
        if path.stat().st_size >= size * 0.9:
            return Body(path, "application/octet-stream")
        side += 50


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="1 s at concurrency 2 on the tiny model only")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", default="1,8,32,64")
    parser.add_argument("--models", default="tiny,heavy,seed,raw")
    parser.add_argument("--image", default="", help="bench this built image (folder name or path) on its own sample")
    parser.add_argument("--workers", type=int, default=1, help="WORKER_COUNT of our images")
    parser.add_argument("--peer-workers", type=int, default=os.cpu_count() or 1, help="the peer's WORKER_COUNT")
    parser.add_argument("--peer-python", type=Path, default=Path(".venv-bench/bin/python"))
    parser.add_argument("--kserve-python", type=Path, default=Path(".venv-kserve/bin/python"))
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    arguments = parser.parse_args(argv)
    if arguments.smoke:
        arguments.seconds, arguments.concurrency, arguments.models = 1.0, "2", "tiny"
    arguments.concurrency = [int(level) for level in arguments.concurrency.split(",")]
    if arguments.image:
        arguments.models = [image_model(arguments.image)]
    else:
        arguments.models = [MODELS[key] for key in arguments.models.split(",")]
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse(argv)
    arguments.load_at_start = machine()["load"]  # a shared machine shows here (the report adds the load at the end)
    docker_client = client()
    if arguments.image:  # IMAGE=...: bench the image as built
        images = built_image(docker_client, arguments.models[0])
    else:
        images = build_images(docker_client, arguments.models)
    results: list[Measurement] = []
    failed = []
    with tempfile.TemporaryDirectory(prefix="triton-kit-bench-") as work:
        for model in arguments.models:
            try:
                results += bench_model(docker_client, model, images, arguments, Path(work))
            except Exception as error:  # the other models' numbers are still worth their report
                print(f"bench: {model.key} failed: {error}", file=sys.stderr, flush=True)
                failed.append(model.key)
    paths = write_report([asdict(result) for result in results], arguments)
    print("bench: wrote " + ", ".join(str(path) for path in paths))
    if failed:
        print(f"bench: failed models: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
