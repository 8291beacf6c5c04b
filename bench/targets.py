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
from kit.verify.smoke import loopback_environment

BENCH_VARIANTS = BUILD_DIR / "bench-variants"
NO_BATCHING = 'parameters { key: "dynamic_batching" value { string_value: "off" } }\n'


@dataclass(frozen=True)
class Model:
    key: str  # tiny | heavy
    image: str  # example image folder under images/
    triton_model: str
    features: int
    peer_output: str


MODELS = {
    "tiny": Model("tiny", "mlp-classifier", "mlp", 8, "probabilities"),
    "heavy": Model("heavy", "heavy-mlp", "heavy_mlp", 64, "confidence"),
}


def no_batching_variant(model: Model) -> Path:
    """A copy of the example whose config.pbtxt keeps Triton's dynamic batcher off (same model, same script)."""
    folder = BENCH_VARIANTS / f"{model.image}-nobatch"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(PROJECT_ROOT / "images" / model.image, folder)
    spec_path = folder / "image.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["name"] = f"{model.image}-nobatch"
    spec_path.write_text(yaml.safe_dump(spec))
    config = folder / "triton" / model.triton_model / "config.pbtxt"
    lines = config.read_text().splitlines(keepends=True) if config.exists() else ['backend: "onnxruntime"\n']
    config.write_text("".join(line for line in lines if not line.startswith("dynamic_batching")) + NO_BATCHING)
    return folder


def build_images(docker_client: docker.DockerClient, models: list[Model]) -> None:
    folders = [str(PROJECT_ROOT / "images" / model.image) for model in models]
    folders += [str(no_batching_variant(model)) for model in models]
    outcomes = build_all(docker_client, folders, "cpu")
    failed = [outcome.plan.spec.name for outcome in outcomes if outcome.error]
    if failed:
        raise RuntimeError(f"bench images failed to build or test: {failed}")


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

    def stats(self, model: str) -> tuple[int, int]:
        url = f"http://127.0.0.1:{self.triton_port}/v2/models/{model}/stats"
        with urllib.request.urlopen(url, timeout=10) as response:
            stats = json.loads(response.read())["model_stats"][0]
        return int(stats["inference_count"]), int(stats["execution_count"])

    def front_end_cpu_seconds(self) -> float:
        """utime + stime of the container's Gunicorn processes (host PIDs; the bench runs as the container's host)."""
        ticks = 0
        for process in self.container.top(ps_args="-eo pid,args")["Processes"]:
            pid, args = process[0], process[-1]
            if "gunicorn" in args:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def image_target(
    docker_client: docker.DockerClient, image: str, worker_count: int, **extra_environment: str
) -> Iterator[ImageTarget]:
    port, triton_port = free_port(), free_port()
    environment = {**loopback_environment(port, triton_port), "WORKER_COUNT": str(worker_count), **extra_environment}
    with running(docker_client, image, environment=environment, name=f"triton-kit-bench-{port}") as container:
        wait_for_http_ok(container, f"http://127.0.0.1:{port}/ready", 300)
        yield ImageTarget(container, port, triton_port)


@contextmanager
def peer_target(peer_python: Path, model: Model, workers: int, log_dir: Path) -> Iterator[str]:
    """azureml-inference-server-http serving the model in-process; yields its /score URL."""
    port, health_port = free_port(), free_port()
    model_file = PROJECT_ROOT / "images" / model.image / "triton" / model.triton_model / "1" / "model.onnx"
    environment = dict(os.environ, BENCH_MODEL_FILE=str(model_file), BENCH_OUTPUT=model.peer_output)
    command = [str(peer_python.parent / "azmlinfsrv"),
               "--entry_script", str(Path(__file__).with_name("peer_score.py")),
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
