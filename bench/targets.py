"""What the bench measures: built images in containers (scoring + direct Triton) and the azureml peer on the host."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import yaml
from docker.models.containers import Container

from kit import PROJECT_ROOT
from kit.context.render import BUILD_DIR
from kit.docker.containers import free_port, http_status, running, wait_for_http_ok
from kit.pipeline import build_all
from kit.spec.image import SPEC_FILE, load_spec, sample_request
from kit.verify.smoke import loopback_environment

BENCH_VARIANTS = BUILD_DIR / "bench-variants"
TRITON_PROCESSES = ("tritonserver", "triton_python_backend_stub")
NO_BATCHING = 'parameters { key: "dynamic_batching" value { string_value: "off" } }\n'


@dataclass(frozen=True)
class Model:
    key: str  # tiny | heavy | seed, or an image's name (make bench IMAGE=...)
    image: str  # image folder under images/ (or any folder holding an image.yaml)
    triton_model: str | None = None  # None: the first model Triton's repository index lists
    peer_output: str | None = None  # None: no azureml peer and no batching-off variant for this model
    tag: str = "1.0.0"
    own_samples: bool = False  # /score gets the image's first sample instead of one random row
    raw_jpeg: bool = False  # /score gets a ~100 KB JPEG as application/octet-stream (Azure ML's Triton tutorial)
    batching_off_variant: bool = True  # also bench a copy with Triton's batcher and the coalescing off
    kserve: bool = False  # also bench KServe's Python transformer calling this image's Triton
    triton_port: int | None = None  # the script reaches Triton on this fixed port: one container at a time

    @property
    def image_name(self) -> str:
        return Path(self.image).name if not self.own_samples else self.key

    @property
    def folder(self) -> Path:
        folder = Path(self.image)
        return folder if folder.is_absolute() else PROJECT_ROOT / "images" / self.image


MODELS = {
    "tiny": Model("tiny", "mlp-classifier", "mlp", "probabilities", kserve=True),
    "heavy": Model("heavy", "heavy-mlp", "heavy_mlp", "confidence"),
    # The Azure ML guide's script: metadata and class_count on every call through tritonhttpclient.
    "seed": Model("seed", "seed-style", "digits"),
    # Raw bytes through @rawhttp: the tutorial's pattern (PIL decodes a JPEG, Triton classifies it).
    # Its helper (onnxruntimetriton.py, as the tutorial's) calls localhost:8000 whatever TRITON_HTTP_PORT says.
    "raw": Model("raw", "aml-digits", "digits", "raw", raw_jpeg=True, batching_off_variant=False, triton_port=8000),
}


def image_model(name: str) -> Model:
    """`make bench IMAGE=<name>`: an image folder under images/ (or a path), benched as built, on its own samples."""
    folder = Path(name) if "/" in name else PROJECT_ROOT / "images" / name
    if not (folder / SPEC_FILE).is_file():
        known = ", ".join(sorted(path.parent.name for path in (PROJECT_ROOT / "images").glob(f"*/{SPEC_FILE}")))
        raise SystemExit(f"bench: IMAGE={name}: no {folder / SPEC_FILE}; give an image folder ({known}) or a path")
    spec = load_spec(folder)
    if not spec.samples:
        raise SystemExit(f"bench: {folder / SPEC_FILE} has no samples; add one under 'samples:' to bench the image")
    return Model(spec.name, str(folder.resolve()), tag=spec.version, own_samples=True)


def sample_body(model: Model) -> bytes:
    spec = load_spec(model.folder)
    return sample_request(model.folder, spec.samples[0])


def no_batching_variant(model: Model) -> Path:
    """A copy of the example whose config.pbtxt keeps Triton's dynamic batcher off (same model, same script)."""
    folder = BENCH_VARIANTS / f"{model.image}-nobatch"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(model.folder, folder)
    spec_path = folder / "image.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["name"] = f"{model.image}-nobatch"
    spec_path.write_text(yaml.safe_dump(spec))
    config = folder / "triton" / str(model.triton_model) / "config.pbtxt"
    lines = config.read_text().splitlines(keepends=True) if config.exists() else ['backend: "onnxruntime"\n']
    config.write_text("".join(line for line in lines if not line.startswith("dynamic_batching")) + NO_BATCHING)
    return folder


def build_images(docker_client: docker.DockerClient, models: list[Model]) -> dict[str, str]:
    """Builds the models' images (and batching-off variants); returns image IDs by image name. The bench runs the IDs,
    so another build retagging `name:version` on a shared machine cannot swap the image under a running bench."""
    folders = [str(model.folder) for model in models]
    folders += [str(no_batching_variant(model)) for model in models if model.peer_output and model.batching_off_variant]
    outcomes = build_all(docker_client, folders, "cpu")
    failed = [outcome.plan.spec.name for outcome in outcomes if outcome.error or outcome.build is None]
    if failed:
        raise RuntimeError(f"bench images failed to build or test: {failed}")
    return {outcome.plan.spec.name: outcome.build.image_id for outcome in outcomes if outcome.build}


def built_image(docker_client: docker.DockerClient, model: Model) -> dict[str, str]:
    """`make bench IMAGE=...`: the ID the image's tag names now."""
    tag = f"{model.image_name}:{model.tag}"
    try:
        return {model.image_name: docker_client.images.get(tag).id}
    except docker.errors.ImageNotFound:
        raise SystemExit(
            f"bench: image {tag} is not built; build it first: python build.py build {model.image}"
        ) from None


@dataclass
class ImageTarget:
    container: Container
    port: int
    triton_port: int

    @property
    def score_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/score"

    def triton_url(self, model: str) -> str:
        return f"http://127.0.0.1:{self.triton_port}/v2/models/{model}/infer"

    def get(self, path: str, method: str = "GET") -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{self.triton_port}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def first_model(self) -> str:
        models = [entry["name"] for entry in self.get("/v2/repository/index", "POST") if entry.get("state") == "READY"]
        if not models:
            raise RuntimeError("the image's Triton has no READY model to bench")
        return sorted(models)[0]

    def stats(self, model: str) -> tuple[int, int, int]:
        """Rows inferred, executions (batches run) and requests answered, so far."""
        stats = self.get(f"/v2/models/{model}/stats")["model_stats"][0]
        requests = int(stats["inference_stats"]["success"]["count"])
        return int(stats["inference_count"]), int(stats["execution_count"]), requests

    def front_end_processes(self) -> list[int]:
        """Host PIDs of every process in the container except Triton's (tritonserver and its backend stubs)."""
        pids = []
        for process in self.container.top(ps_args="-eo pid,args")["Processes"]:
            pid, args = process[0], process[-1]
            if not any(name in args for name in TRITON_PROCESSES):
                pids.append(int(pid))
        return pids

    def worker_rss_mb(self) -> float:
        """The largest resident set among the Gunicorn processes (the worker's, under the load just run)."""
        sizes = [0.0]
        for pid in self.scoring_processes():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return round(max(sizes), 1)

    def scoring_processes(self) -> list[int]:
        return [int(row[0]) for row in self.container.top(ps_args="-eo pid,args")["Processes"] if "gunicorn" in row[-1]]

    def front_end_cpu_seconds(self) -> tuple[float, float]:
        """utime and stime of the front end: the whole container minus Triton, so no work can hide outside Gunicorn
        (host PIDs; the bench runs on the container's host)."""
        user = system = 0
        for pid in self.front_end_processes():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            user, system = user + int(fields[11]), system + int(fields[12])
        ticks = os.sysconf("SC_CLK_TCK")
        return user / ticks, system / ticks


@contextmanager
def image_target(
    docker_client: docker.DockerClient, image: str, worker_count: int, triton_port: int | None = None,
    **extra_environment: str,
) -> Iterator[ImageTarget]:  # fmt: skip
    port, triton_port = free_port(), triton_port or free_port()
    environment = {**loopback_environment(port, triton_port), "WORKER_COUNT": str(worker_count), **extra_environment}
    with running(docker_client, image, environment=environment, name=f"triton-kit-bench-{port}") as container:
        wait_for_http_ok(container, f"http://127.0.0.1:{port}/ready", 300)
        yield ImageTarget(container, port, triton_port)


@contextmanager
def peer_target(peer_python: Path, model: Model, workers: int, log_dir: Path) -> Iterator[str]:
    """azureml-inference-server-http serving the model in-process; yields its /score URL."""
    port, health_port = free_port(), free_port()
    model_file = model.folder / "triton" / str(model.triton_model) / "1" / "model.onnx"
    if not model_file.exists():  # an Azure ML source folder: the Triton repository sits in its registered model
        model_file = next(model.folder.glob(f"*/triton/{model.triton_model}/1/model.onnx"))
    environment = dict(os.environ, BENCH_MODEL_FILE=str(model_file), BENCH_OUTPUT=model.peer_output)
    script = "peer_raw_score.py" if model.raw_jpeg else "peer_score.py"
    command = [str(peer_python.parent / "azmlinfsrv"),
               "--entry_script", str(Path(__file__).with_name(script)),
               "--port", str(port), "--health_port", str(health_port), "--worker_count", str(workers)]  # fmt: skip
    log_path = log_dir / f"peer-{model.key}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while http_status(f"http://127.0.0.1:{port}/") != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the peer did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/score"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and its workers only
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def kserve_target(kserve_python: Path, model: Model, triton: str, workers: int, log_dir: Path) -> Iterator[str]:
    """KServe's transformer in front of `triton` (host:port), in its own environment; yields its predict URL."""
    port, grpc_port = free_port(), free_port()
    command = [str(kserve_python), str(Path(__file__).with_name("kserve_transformer.py")),
               "--model_name", str(model.triton_model), "--predictor_host", triton, "--predictor_protocol", "v2",
               "--http_port", str(port), "--grpc_port", str(grpc_port), "--workers", str(workers)]  # fmt: skip
    log_path = log_dir / f"kserve-{model.key}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while http_status(f"http://127.0.0.1:{port}/v1/models/{model.triton_model}") != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the KServe peer did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1/models/{model.triton_model}:predict"
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and its workers only
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
