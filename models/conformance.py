"""Conformance models: what users export with the usual converters, plus onnx-helper models for shapes and types.

`make models` writes them to models/conformance/<name>.onnx (fixed seeds, offline). The runtime tier serves each
with and without a config.pbtxt and compares Triton's answers with onnxruntime on the host.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CONFORMANCE_DIR = Path(__file__).resolve().parent / "conformance"
OPSET = 17


def _classification_data(seed: int, rows: int = 120, features: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1.0).astype(np.int64)
    return x, y


def sk_classifier() -> onnx.ModelProto:
    """LogisticRegression through skl2onnx, zipmap=False: `label` [N] int64 (rank 1) and `probabilities` [N, 3]."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x, y = _classification_data(1)
    model = LogisticRegression(max_iter=500).fit(x, y)
    return to_onnx(model, x[:1], options={"zipmap": False}, target_opset=OPSET)


def sk_zipmap() -> onnx.ModelProto:
    """The same classifier with skl2onnx's default ZipMap: its probabilities are a list of dicts (refused)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x, y = _classification_data(1)
    return to_onnx(LogisticRegression(max_iter=500).fit(x, y), x[:1], target_opset=OPSET)


def sk_regressor() -> onnx.ModelProto:
    """RandomForestRegressor through skl2onnx: `variable` [N, 1] float."""
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestRegressor

    x, y = _classification_data(2)
    target = (x @ np.array([1.0, -2.0, 0.5, 0.0], dtype=np.float32)).astype(np.float32)
    model = RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0).fit(x, target + y)
    return to_onnx(model, x[:1], target_opset=OPSET)


def sk_pipeline() -> onnx.ModelProto:
    """ColumnTransformer pipeline with three named inputs (two numeric columns, one string category)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(3)
    rows = 150
    age = rng.uniform(18, 80, rows).astype(np.float32)
    income = rng.uniform(10, 200, rows).astype(np.float32)
    city = rng.choice(["paris", "lyon", "nice"], rows)
    label = ((age > 40) ^ (city == "nice")).astype(np.int64)
    import pandas as pd

    frame = pd.DataFrame({"age": age, "income": income, "city": city})
    pipeline = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [("numbers", StandardScaler(), ["age", "income"]), ("cities", OneHotEncoder(), ["city"])]
                ),
            ),
            ("classifier", LogisticRegression(max_iter=500)),
        ]
    ).fit(frame, label)
    types = [("age", FloatTensorType([None, 1])), ("income", FloatTensorType([None, 1])),
             ("city", StringTensorType([None, 1]))]  # fmt: skip
    return convert_sklearn(pipeline, initial_types=types, options={"zipmap": False}, target_opset=OPSET)


def sk_text() -> onnx.ModelProto:
    """TfidfVectorizer + LogisticRegression: one string input `text` [N] (rank 1)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    texts = ["good model fast", "bad slow model", "fast and good", "slow and bad", "good good", "bad bad",
             "model is fast", "model is slow"]  # fmt: skip
    labels = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    # lowercase=False: lowercasing needs the en_US.UTF-8 locale inside onnxruntime, which slim images lack.
    steps = [("tfidf", TfidfVectorizer(lowercase=False)), ("classifier", LogisticRegression())]
    pipeline = Pipeline(steps).fit(texts, labels)
    return convert_sklearn(
        pipeline, initial_types=[("text", StringTensorType([None]))], options={"zipmap": False}, target_opset=OPSET
    )


def lgbm_classifier() -> onnx.ModelProto:
    """LightGBM classifier through onnxmltools, zipmap=False."""
    from lightgbm import LGBMClassifier
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    x, y = _classification_data(4, rows=200)
    model = LGBMClassifier(n_estimators=8, num_leaves=7, random_state=0, deterministic=True, n_jobs=1, verbose=-1)
    model.fit(x, (y > 0).astype(np.int64))
    return convert_lightgbm(model, initial_types=[("features", FloatTensorType([None, 4]))], zipmap=False,
                            target_opset=15)  # fmt: skip


def _finish(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="triton-kit")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def small_cnn() -> onnx.ModelProto:
    """Conv-Relu-GlobalAveragePool-Flatten-Gemm on `image` [batch, 1, 8, 8] -> `scores` [batch, 4]."""
    rng = np.random.default_rng(5)
    weights = {
        "conv_w": rng.standard_normal((6, 1, 3, 3)).astype(np.float32) * 0.3,
        "conv_b": rng.standard_normal(6).astype(np.float32) * 0.1,
        "fc_w": rng.standard_normal((4, 6)).astype(np.float32) * 0.3,
        "fc_b": rng.standard_normal(4).astype(np.float32) * 0.1,
    }
    nodes = [
        helper.make_node("Conv", ["image", "conv_w", "conv_b"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["scores"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "small_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 4])],
        initializer=[numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    return _finish(graph)


def fixed_batch1() -> onnx.ModelProto:
    """A model exported for batch 1 only: `x` [1, 4] -> `y` [1, 2] (cannot batch: max_batch_size 0)."""
    weight = np.random.default_rng(6).standard_normal((4, 2)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "fixed_batch1",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        initializer=[numpy_helper.from_array(weight, "w")],
    )
    return _finish(graph)


def dtypes() -> onnx.ModelProto:
    """Every tensor type Triton's ORT backend serves, in and out: fp16 from fp32, fp64, int8-int64, uint8, bool and
    string, each [batch, 2] except `scale` (rank 1: dims [1] + reshape [])."""
    numeric = {"f64": TensorProto.DOUBLE, "i8": TensorProto.INT8, "i16": TensorProto.INT16,
               "i32": TensorProto.INT32, "i64": TensorProto.INT64, "u8": TensorProto.UINT8}  # fmt: skip
    inputs = [helper.make_tensor_value_info("f32", TensorProto.FLOAT, ["batch", 2])]
    inputs += [helper.make_tensor_value_info(name, kind, ["batch", 2]) for name, kind in numeric.items()]
    inputs += [
        helper.make_tensor_value_info("flag", TensorProto.BOOL, ["batch", 2]),
        helper.make_tensor_value_info("word", TensorProto.STRING, ["batch", 2]),
        helper.make_tensor_value_info("scale", TensorProto.FLOAT, ["batch"]),
    ]
    nodes = [
        helper.make_node("Unsqueeze", ["scale", "axis1"], ["scale_column"]),
        helper.make_node("Mul", ["f32", "scale_column"], ["scaled"]),
        helper.make_node("Cast", ["scaled"], ["f16_out"], to=TensorProto.FLOAT16),
        helper.make_node("Not", ["flag"], ["flag_out"]),
        helper.make_node("Identity", ["word"], ["word_out"]),
        helper.make_node("ReduceSum", ["f32", "axis1"], ["row_sum"], keepdims=0),
    ]
    nodes += [helper.make_node("Add", [name, name], [f"{name}_out"]) for name in numeric]
    outputs = [helper.make_tensor_value_info("f16_out", TensorProto.FLOAT16, ["batch", 2])]
    outputs += [helper.make_tensor_value_info(f"{name}_out", kind, ["batch", 2]) for name, kind in numeric.items()]
    outputs += [
        helper.make_tensor_value_info("flag_out", TensorProto.BOOL, ["batch", 2]),
        helper.make_tensor_value_info("word_out", TensorProto.STRING, ["batch", 2]),
        helper.make_tensor_value_info("row_sum", TensorProto.FLOAT, ["batch"]),
    ]
    axis = numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")
    return _finish(helper.make_graph(nodes, "dtypes", inputs, outputs, initializer=[axis]))


MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    "sk_classifier": sk_classifier,
    "sk_zipmap": sk_zipmap,
    "sk_regressor": sk_regressor,
    "sk_pipeline": sk_pipeline,
    "sk_text": sk_text,
    "lgbm_classifier": lgbm_classifier,
    "small_cnn": small_cnn,
    "fixed_batch1": fixed_batch1,
    "dtypes": dtypes,
}


def write_all(directory: Path = CONFORMANCE_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # converters warn about opset choices; the models are checked by loading
        for name, build in MODELS.items():
            model = build()
            model.graph.name = name  # converters name the graph with a random uuid...
            opsets = sorted(model.opset_import, key=lambda opset: opset.domain)  # ...and list opsets in set order
            del model.opset_import[:]
            model.opset_import.extend(opsets)
            path = directory / f"{name}.onnx"
            path.write_bytes(model.SerializeToString(deterministic=True))
            written.append(path)
    return written


if __name__ == "__main__":
    for written in write_all():
        print(f"models: wrote {written.relative_to(CONFORMANCE_DIR.parent.parent)}")
