"""The embedded cpu base: it builds (and rebuilds from cache), and its Triton serves ONNX and python models."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as triton_http

from kit.base.cpu_base import build_cpu_base
from kit.docker.build import BuildResult
from kit.docker.containers import ContainerExited, ReadinessTimeout, http_status, wait_for_http_ok
from kit.spec.bases import CPU
from tests.docker.conftest import StartTriton, TritonContainer
from tests.model_factory import add_corrupt_onnx_model, add_onnx_model, add_python_model, mlp_onnx

pytestmark = pytest.mark.docker
READY_TIMEOUT_S = 120


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def host_onnx_result(model_path: Path, batch: np.ndarray) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, {"x": batch}), strict=True))


def infer_mlp(client: triton_http.InferenceServerClient, batch: np.ndarray) -> dict[str, np.ndarray]:
    tensor = triton_http.InferInput("x", list(batch.shape), "FP32")
    tensor.set_data_from_numpy(batch, binary_data=True)
    outputs = [triton_http.InferRequestedOutput(name, binary_data=True) for name in ("probabilities", "logits")]
    result = client.infer("mlp", [tensor], outputs=outputs)
    return {name: result.as_numpy(name) for name in ("probabilities", "logits")}


@pytest.fixture
def served_repository(tmp_path: Path, start_triton: StartTriton):
    repository = tmp_path / "models"
    onnx_path = add_onnx_model(repository, "mlp", mlp_onnx())
    add_python_model(repository, "doubler")
    with start_triton(repository) as triton:
        wait_for_http_ok(triton.container, triton.endpoint("/v2/health/ready"), READY_TIMEOUT_S)
        yield triton, onnx_path


def test_engine_answers(docker_client: docker.DockerClient) -> None:
    assert docker_client.ping()
    assert docker_client.version()["ApiVersion"]


def test_base_labels_record_triton_and_wheels(cpu_base: BuildResult, docker_client: docker.DockerClient) -> None:
    labels = docker_client.images.get(CPU.image).labels
    assert labels["io.triton-kit.triton-version"] == CPU.triton_version
    assert labels["io.triton-kit.python-version"] == CPU.python_version
    wheels = dict(item.split("==") for item in labels["io.triton-kit.wheels"].split(","))
    assert {"numpy", "onnxruntime"} <= set(wheels)
    assert labels["io.triton-kit.triton-wheel"].startswith("nvidia_pytriton-0.7.0-")


def test_base_stays_under_430_mb_without_what_serving_never_loads(cpu_base: BuildResult, docker_client) -> None:
    assert docker_client.images.get(CPU.image).attrs["Size"] <= 430_000_000
    listing = docker_client.containers.run(
        CPU.image,
        ["sh", "-c", "ls /opt/tritonserver/lib /usr/local/lib/python3.11/dist-packages/onnxruntime/capi"],
        remove=True,
        network_mode="none",
    ).decode()
    assert "libtritonserver" in listing and "onnxruntime_pybind11_state" in listing
    assert "libpython3" not in listing and "libonnxruntime.so" not in listing


def test_rebuild_with_nothing_changed_reuses_every_layer(cpu_base: BuildResult, docker_client) -> None:
    again = build_cpu_base(docker_client)
    buildable = [step.number for step in again.steps if not step.instruction.upper().startswith("FROM ")]
    assert again.cached_steps() == buildable
    assert again.image_id == docker_client.images.get(CPU.image).id


def test_onnx_model_without_config_is_auto_completed(served_repository) -> None:
    triton, _ = served_repository
    metadata = get_json(triton.endpoint("/v2/models/mlp"))
    assert metadata["platform"] == "onnxruntime_onnx"
    assert metadata["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 8]}]
    assert sorted(metadata["outputs"], key=lambda output: output["name"]) == [
        {"name": "logits", "datatype": "FP32", "shape": [-1, 3]},
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
    ]
    config = get_json(triton.endpoint("/v2/models/mlp/config"))
    assert config["max_batch_size"] == 4
    assert "dynamic_batching" in config
    assert config["backend"] == "onnxruntime"


def test_onnx_result_equals_host_onnxruntime(served_repository) -> None:
    triton, onnx_path = served_repository
    batch = np.random.default_rng(7).standard_normal((3, 8)).astype(np.float32)
    client = triton_http.InferenceServerClient(triton.url)
    served = infer_mlp(client, batch)
    expected = host_onnx_result(onnx_path, batch)
    for name, values in expected.items():
        np.testing.assert_allclose(served[name], values, rtol=1e-6, atol=1e-6)


def test_python_backend_model_serves(served_repository) -> None:
    triton, _ = served_repository
    client = triton_http.InferenceServerClient(triton.url)
    values = np.arange(8, dtype=np.float32).reshape(2, 4)
    tensor = triton_http.InferInput("VALUES", [2, 4], "FP32")
    tensor.set_data_from_numpy(values)
    result = client.infer("doubler", [tensor])
    np.testing.assert_array_equal(result.as_numpy("DOUBLED"), values * 2)
    np.testing.assert_array_equal(result.as_numpy("TOTAL"), [[6.0], [22.0]])


def test_concurrent_requests_are_batched_and_match_unbatched_results(served_repository) -> None:
    triton, onnx_path = served_repository
    clients, requests_per_client = 32, 25
    rng = np.random.default_rng(11)
    inputs = [
        rng.standard_normal((1 + index % 2, 8)).astype(np.float32) for index in range(clients * requests_per_client)
    ]

    def serve_slice(first: int) -> list[tuple[int, dict[str, np.ndarray]]]:
        client = triton_http.InferenceServerClient(triton.url)  # one per thread: the client is not thread-safe
        indices = range(first, len(inputs), clients)
        return [(index, infer_mlp(client, inputs[index])) for index in indices]

    with ThreadPoolExecutor(max_workers=clients) as pool:
        served = dict(pair for chunk in pool.map(serve_slice, range(clients)) for pair in chunk)

    assert len(served) == len(inputs)
    for index, batch in enumerate(inputs):
        expected = host_onnx_result(onnx_path, batch)
        for name, values in expected.items():
            np.testing.assert_allclose(served[index][name], values, rtol=1e-5, atol=1e-6)

    stats = get_json(triton.endpoint("/v2/models/mlp/stats"))["model_stats"][0]
    assert stats["inference_count"] == sum(len(batch) for batch in inputs)
    print(f"mlp stats: inference_count={stats['inference_count']} execution_count={stats['execution_count']}")
    assert stats["inference_count"] > stats["execution_count"], stats


def test_ready_only_after_models_loaded(tmp_path: Path, start_triton: StartTriton) -> None:
    load_seconds = 4.0
    repository = tmp_path / "models"
    add_python_model(repository, "slow", load_seconds=load_seconds)
    with start_triton(repository) as triton:
        started = time.monotonic()
        early_statuses = []
        while http_status(triton.endpoint("/v2/health/ready")) != 200:
            early_statuses.append(http_status(triton.endpoint("/v2/health/live")))
            assert time.monotonic() - started < READY_TIMEOUT_S, triton.logs()[-2000:]
            time.sleep(0.1)
        assert time.monotonic() - started >= load_seconds
        assert http_status(triton.endpoint("/v2/models/slow/ready")) == 200
        assert early_statuses, "readiness answered 200 at once, before the slow model could have loaded"


def test_corrupt_onnx_model_never_becomes_ready(tmp_path: Path, start_triton: StartTriton) -> None:
    repository = tmp_path / "models"
    add_corrupt_onnx_model(repository, "broken")
    with start_triton(repository) as triton:
        with pytest.raises((ContainerExited, ReadinessTimeout)):
            wait_for_http_ok(triton.container, triton.endpoint("/v2/health/ready"), timeout_s=30)
        logs = triton.logs()
    assert "failed to load 'broken'" in logs
    assert "onnxruntime" in logs.lower() or "protobuf" in logs.lower(), logs[-3000:]


def test_triton_container_uses_loopback(served_repository: tuple[TritonContainer, Path]) -> None:
    triton, _ = served_repository
    attrs = triton.container.attrs
    assert attrs["HostConfig"]["NetworkMode"] == "host"
    assert "Started HTTPService at 127.0.0.1" in triton.logs()


def mapped_files(triton: TritonContainer) -> set[str]:
    """Every file that tritonserver and its python stubs have mapped (the dynamic loader's view)."""
    script = (  # the base has no procps: walk /proc; only processes started as Triton's binaries
        "for pid in /proc/[0-9]*; do case \"$(tr '\\0' ' ' < $pid/cmdline 2>/dev/null)\" in "
        "tritonserver\\ *|/opt/tritonserver/*) awk '$6 ~ /^\\// {print $6}' $pid/maps;; esac; done | sort -u"
    )
    code, output = triton.container.exec_run(["sh", "-c", script])
    assert code == 0, output
    return set(output.decode().split())


def test_every_library_kept_in_the_base_is_loaded_when_serving(served_repository) -> None:
    """The slim base keeps only what serving loads: each library of Triton's lib/ is mapped once both backends ran
    (a new, unused library in a future wheel fails here and can be dropped)."""
    triton, _ = served_repository
    client = triton_http.InferenceServerClient(triton.url)
    infer_mlp(client, np.zeros((1, 8), dtype=np.float32))
    tensor = triton_http.InferInput("VALUES", [1, 4], "FP32")
    tensor.set_data_from_numpy(np.ones((1, 4), dtype=np.float32))
    client.infer("doubler", [tensor])
    mapped = mapped_files(triton)
    code, listing = triton.container.exec_run(["sh", "-c", "ls -d /opt/tritonserver/lib/*"])
    assert code == 0, listing
    kept = set(listing.decode().split())
    assert kept and kept <= mapped, sorted(kept - mapped)
    assert any("onnxruntime_pybind11_state" in path for path in mapped)
    assert "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0" in mapped
