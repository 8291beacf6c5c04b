"""Small, deterministic Triton model repositories for tests (built offline with onnx helpers)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def mlp_onnx(in_features: int = 8, hidden: int = 16, classes: int = 3, seed: int = 0) -> onnx.ModelProto:
    """x[batch, in] -> relu(x W1 + b1) W2 + b2 -> softmax: `probabilities[batch, classes]`, `logits` too."""
    rng = np.random.default_rng(seed)
    weights = {
        "w1": rng.standard_normal((in_features, hidden)).astype(np.float32),
        "b1": rng.standard_normal(hidden).astype(np.float32),
        "w2": rng.standard_normal((hidden, classes)).astype(np.float32),
        "b2": rng.standard_normal(classes).astype(np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w2"], ["l0"]),
        helper.make_node("Add", ["l0", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", in_features])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", classes]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes]),
        ],
        initializer=[numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


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
