"""ONNX models built with onnx helpers: deterministic weights from a seed, a dynamic batch axis."""

from __future__ import annotations

import itertools

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def mlp(layers: tuple[int, ...] = (8, 16, 3), seed: int = 0, name: str = "mlp") -> onnx.ModelProto:
    """x[batch, layers[0]] -> (MatMul+Add+Relu)* -> logits -> softmax; outputs `probabilities` and `logits`."""
    rng = np.random.default_rng(seed)
    nodes, initializers, current = [], [], "x"
    for index, (width_in, width_out) in enumerate(itertools.pairwise(layers)):
        weight = (rng.standard_normal((width_in, width_out)) / np.sqrt(width_in)).astype(np.float32)
        bias = rng.standard_normal(width_out).astype(np.float32) * 0.1
        initializers += [numpy_helper.from_array(weight, f"w{index}"), numpy_helper.from_array(bias, f"b{index}")]
        last = index == len(layers) - 2
        nodes += [
            helper.make_node("MatMul", [current, f"w{index}"], [f"m{index}"]),
            helper.make_node("Add", [f"m{index}", f"b{index}"], ["logits" if last else f"a{index}"]),
        ]
        if not last:
            nodes.append(helper.make_node("Relu", [f"a{index}"], [f"h{index}"]))
            current = f"h{index}"
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1))
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", layers[0]])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", layers[-1]]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", layers[-1]]),
        ],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="triton-kit")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
