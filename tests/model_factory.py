"""Small, deterministic Triton model repositories for tests (built offline with onnx helpers)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import onnx

from models.onnx_models import mlp


def mlp_onnx(in_features: int = 8, hidden: int = 16, classes: int = 3, seed: int = 0) -> onnx.ModelProto:
    return mlp((in_features, hidden, classes), seed=seed)


def add_onnx_model(repository: Path, name: str, model: onnx.ModelProto, version: int = 1) -> Path:
    path = repository / name / str(version) / "model.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def add_corrupt_onnx_model(repository: Path, name: str) -> Path:
    path = repository / name / "1" / "model.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an ONNX protobuf \x00\xff\x13" * 10)
    return path


PYTHON_MODEL = """
import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        time.sleep({load_seconds})

    def execute(self, requests):
        responses = []
        for request in requests:
            values = pb_utils.get_input_tensor_by_name(request, "VALUES").as_numpy()
            doubled = pb_utils.Tensor("DOUBLED", (values * 2).astype(np.float32))
            total = pb_utils.Tensor("TOTAL", values.sum(axis=1, keepdims=True).astype(np.float32))
            responses.append(pb_utils.InferenceResponse([doubled, total]))
        return responses
"""

PYTHON_CONFIG = """
backend: "python"
max_batch_size: 8
input [ {{ name: "VALUES", data_type: TYPE_FP32, dims: [ 4 ] }} ]
output [
  {{ name: "DOUBLED", data_type: TYPE_FP32, dims: [ 4 ] }},
  {{ name: "TOTAL", data_type: TYPE_FP32, dims: [ 1 ] }}
]
instance_group [ {{ kind: KIND_CPU, count: 1 }} ]
"""


def add_python_model(repository: Path, name: str, load_seconds: float = 0.0) -> Path:
    model_dir = repository / name
    (model_dir / "1").mkdir(parents=True, exist_ok=True)
    (model_dir / "1" / "model.py").write_text(PYTHON_MODEL.format(load_seconds=load_seconds))
    (model_dir / "config.pbtxt").write_text(textwrap.dedent(PYTHON_CONFIG.format()))
    return model_dir
