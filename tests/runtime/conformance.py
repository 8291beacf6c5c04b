"""The conformance matrix: which model repository variants exist, their inputs, and a host tritonserver serving all.

A variant is `<model>__<form>`: the model file from models/conformance/ with the config.pbtxt in
tests/conformance/configs/<model>.<form>.pbtxt, or none (form `bare`). Expected answers come from onnxruntime on the
host, never from the server under test.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from kit.docker.containers import free_port, http_status
from models.conformance import CONFORMANCE_DIR, MODELS

HERE = Path(__file__).resolve().parent.parent / "conformance"
CONFIGS = HERE / "configs"
GOLDEN = HERE / "golden"
LABELS = HERE / "labels.txt"
ENSEMBLE = HERE / "ensemble"  # `classify` (platform ensemble) = `preprocess` (python) -> sk_classifier__ngc_reshape
# Models served bare (no config.pbtxt); sk_zipmap is refused, see BROKEN.
BARE = [name for name in MODELS if name != "sk_zipmap"]
# Variants that must fail to load, with a piece of the reason Triton reports.
BROKEN = {
    "sk_zipmap__bare": "zipmap': False",
    "sk_classifier__bad_dims": "the model expects 2 dimensions (shape [-1,4]) but the model configuration specifies 1",
    "sk_classifier__bad_type": "configuration expects datatype TYPE_STRING for output 'label', model provides "
    "TYPE_INT64",
    "fixed_batch1__bad_batching": "model does not support batching while non-zero max_batch_size is specified",
    "sk_classifier__no_label_dims": "model output 'label' must specify 'dims'",
}
WORDS = ["good", "bad", "model", "fast", "slow", "and", "is", "unknown"]
CITIES = ["paris", "lyon", "nice"]


def variants() -> list[str]:
    named = [f"{name}__bare" for name in BARE]
    named += [path.name.removesuffix(".pbtxt").replace(".", "__", 1) for path in sorted(CONFIGS.glob("*.pbtxt"))]
    return named


def loadable_variants() -> list[str]:
    return [name for name in variants() if name not in BROKEN and name != "sk_zipmap__bare"]


def model_of(variant: str) -> str:
    return variant.split("__", 1)[0]


def build_repository(repository: Path) -> Path:
    """Every variant (and the broken ones) as `<repository>/<variant>/1/model.onnx` with its config.pbtxt."""
    for variant in [*variants(), "sk_zipmap__bare"]:
        model, form = variant.split("__", 1)
        version_dir = repository / variant / "1"
        version_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CONFORMANCE_DIR / f"{model}.onnx", version_dir / "model.onnx")
        if form != "bare":
            shutil.copy2(CONFIGS / f"{model}.{form}.pbtxt", repository / variant / "config.pbtxt")
            shutil.copy2(LABELS, repository / variant / "labels.txt")
    shutil.copytree(ENSEMBLE, repository, dirs_exist_ok=True)
    (repository / "classify" / "1").mkdir()  # an ensemble's version folder is empty
    return repository


def sample_array(node_arg: ort.NodeArg, rows: int, rng: np.random.Generator) -> np.ndarray:
    """Input data in the model's own shape (symbolic dimensions become `rows`)."""
    shape = [dim if isinstance(dim, int) else rows for dim in node_arg.shape]
    kind = node_arg.type
    if kind == "tensor(string)":
        pool = CITIES if node_arg.name == "city" else WORDS
        if node_arg.name == "text":
            return np.array([" ".join(rng.choice(pool, 3)) for _ in range(int(np.prod(shape)))], dtype=object)
        return rng.choice(pool, shape).astype(object)
    if kind == "tensor(bool)":
        return rng.integers(0, 2, shape).astype(bool)
    integer = {"tensor(int8)": np.int8, "tensor(int16)": np.int16, "tensor(int32)": np.int32,
               "tensor(int64)": np.int64, "tensor(uint8)": np.uint8}  # fmt: skip
    if kind in integer:
        return rng.integers(0, 60, shape).astype(integer[kind])
    dtype = np.float64 if kind == "tensor(double)" else np.float32
    scale = 50.0 if node_arg.name in ("age", "income") else 1.0
    return (rng.standard_normal(shape) * scale + (40.0 if scale > 1 else 0.0)).astype(dtype)


@dataclass
class Case:
    """One request: inputs in the model's shapes and what onnxruntime on the host answers."""

    inputs: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]


class HostReference:
    def __init__(self) -> None:
        self.sessions: dict[str, ort.InferenceSession] = {}

    def session(self, model: str) -> ort.InferenceSession:
        if model not in self.sessions:
            path = str(CONFORMANCE_DIR / f"{model}.onnx")
            self.sessions[model] = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        return self.sessions[model]

    def case(self, model: str, rows: int, seed: int) -> Case:
        session = self.session(model)
        rng = np.random.default_rng(seed)
        rows = 1 if model == "fixed_batch1" else rows
        inputs = {arg.name: sample_array(arg, rows, rng) for arg in session.get_inputs()}
        names = [arg.name for arg in session.get_outputs()]
        return Case(inputs, dict(zip(names, session.run(names, inputs), strict=True)))


def request_shape(config_tensor: dict, max_batch_size: int, array: np.ndarray) -> list[int]:
    """The shape a client sends for `array`: [rows, *dims] when the model batches, else dims with -1 filled in."""
    dims = [int(dim) for dim in config_tensor["dims"]]
    if max_batch_size > 0:
        return [len(array), *dims]
    return list(np.empty(array.size, dtype=np.int8).reshape(dims).shape)


def assert_same(name: str, expected: np.ndarray, actual: np.ndarray) -> None:
    actual = actual.reshape(expected.shape)
    if expected.dtype == object:
        decoded = np.vectorize(lambda item: item.decode() if isinstance(item, bytes) else item, otypes=[object])
        assert decoded(actual).tolist() == expected.tolist(), name
    elif np.issubdtype(expected.dtype, np.floating):
        assert actual.dtype == expected.dtype, f"{name}: {actual.dtype} != {expected.dtype}"
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6, err_msg=name)
    else:
        assert actual.dtype == expected.dtype, f"{name}: {actual.dtype} != {expected.dtype}"
        np.testing.assert_array_equal(actual, expected, err_msg=name)


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def post_json(url: str, body: object) -> object:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@dataclass
class HostServer:
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def index(self) -> dict[str, dict]:
        return {entry["name"]: entry for entry in post_json(f"http://{self.url}/v2/repository/index", {})}

    def config(self, variant: str) -> dict:
        return get_json(f"http://{self.url}/v2/models/{variant}/config")


@contextlib.contextmanager
def serving(tritonserver: Path, repository: Path, log_dir: Path, timeout_s: float = 600) -> Iterator[HostServer]:
    """One tritonserver for the whole matrix; it keeps serving the models that load when others fail."""
    port = free_port()
    log_path = log_dir / "tritonserver.log"
    command = [str(tritonserver), f"--model-repository={repository}", f"--http-port={port}",
               "--http-address=127.0.0.1", "--allow-grpc=false", "--allow-metrics=false", "--exit-on-error=false",
               "--strict-model-config=false", "--log-info=true", "--exit-timeout-secs=5"]  # fmt: skip
    environment = {"TRITON_MODEL_REPOSITORY": str(repository), "PATH": "/usr/bin:/bin"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    server = HostServer(port, log_path)
    try:
        deadline = time.monotonic() + timeout_s
        while http_status(f"http://{server.url}/v2/health/live") != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"tritonserver did not start ({process.poll()}):\n{server.log()[-4000:]}")
            time.sleep(0.5)
        # Triton loads the repository before it answers; an ensemble it refuses has no state at all.
        while any(entry.get("state") == "LOADING" for entry in server.index().values()):
            if time.monotonic() > deadline:
                raise AssertionError(f"models still loading after {timeout_s} s:\n{server.log()[-4000:]}")
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


TENSOR_KEYS = ("name", "data_type", "dims", "reshape", "optional", "label_filename")


def config_summary(config: dict) -> dict:
    """The part of /v2/models/<m>/config the auto-complete rules decide (the rest, e.g. the instance count, is
    Triton's own defaults)."""
    summary: dict = {"max_batch_size": config.get("max_batch_size", 0)}
    for kind in ("input", "output"):
        summary[kind] = [
            {key: tensor[key] for key in TENSOR_KEYS if tensor.get(key) not in (None, "", False)}
            for tensor in config.get(kind, [])
        ]
    if "dynamic_batching" in config:
        batching = config["dynamic_batching"]
        summary["dynamic_batching"] = {
            "max_queue_delay_microseconds": int(batching.get("max_queue_delay_microseconds", 0)),
            "preferred_batch_size": batching.get("preferred_batch_size", []),
        }
    return summary
