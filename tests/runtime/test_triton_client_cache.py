"""The shared client's metadata cache against a real tritonserver that restarts with a different model."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from tritonclient.utils import InferenceServerException

from kit.docker.containers import free_port
from kit.spec.bases import SHARED_NETWORK_TRITON_ARGS
from scoring.settings import Settings
from scoring.supervisor import triton_command
from scoring.triton import TritonClient
from tests.model_factory import add_onnx_model, mlp_onnx


class Triton:
    def __init__(self, executable: Path, repository: Path, port: int, log: Path) -> None:
        env = {
            "TRITON_MODEL_REPOSITORY": str(repository),
            "TRITON_HTTP_PORT": str(port),
            "TRITON_ARGS": " ".join(SHARED_NETWORK_TRITON_ARGS),
        }
        self.command = [str(executable), *triton_command(Settings.from_env(env))[1:]]  # the supervisor's flags
        self.port, self.log, self.process = port, log, None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/health/ready", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"tritonserver not ready:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def triton(host_tritonserver: Path, tmp_path: Path) -> Iterator[Triton]:
    server = Triton(host_tritonserver, tmp_path / "models", free_port(), tmp_path / "triton.log")
    try:
        yield server
    finally:
        server.stop()


def test_metadata_is_cached_and_refreshed_after_triton_restarts_with_another_model(triton: Triton, tmp_path: Path):
    repository = tmp_path / "models"
    add_onnx_model(repository, "mlp", mlp_onnx(in_features=8))
    triton.start()
    client = TritonClient(f"127.0.0.1:{triton.port}")
    assert client.get_model_metadata("mlp")["inputs"][0]["shape"] == [-1, 8]
    assert client.model_config("mlp")["max_batch_size"] > 0
    client.infer_numpy("mlp", {"x": np.ones((2, 8), dtype=np.float32)})

    triton.stop()
    model_file = add_onnx_model(repository, "mlp", mlp_onnx(in_features=4, seed=3))
    triton.start()

    with pytest.raises(InferenceServerException):  # the old shape: Triton says no, whatever the cache held
        client.infer_numpy("mlp", {"x": np.ones((2, 8), dtype=np.float32)})
    assert client.get_model_metadata("mlp")["inputs"][0]["shape"] == [-1, 4]
    rows = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    served = client.infer_numpy("mlp", {"x": rows}, ["probabilities"])["probabilities"]
    expected = ort.InferenceSession(str(model_file)).run(["probabilities"], {"x": rows})[0]
    np.testing.assert_allclose(served, expected, atol=1e-5, rtol=0)


def test_cached_metadata_is_a_copy_a_script_may_change(triton: Triton, tmp_path: Path) -> None:
    add_onnx_model(tmp_path / "models", "mlp", mlp_onnx())
    triton.start()
    client = TritonClient(f"127.0.0.1:{triton.port}")
    client.get_model_metadata("mlp")["inputs"].clear()
    assert client.get_model_metadata("mlp")["inputs"][0]["name"] == "x"
