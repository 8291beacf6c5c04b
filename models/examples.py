"""Model builders for the example images: deterministic, offline (scikit-learn's bundled data, onnx helpers)."""

from __future__ import annotations

import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from models.onnx_models import mlp

OPSET = [helper.make_opsetid("", 17)]


def finish(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="triton-kit")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def digits_classifier(seed: int = 0) -> onnx.ModelProto:
    """Logistic regression on scikit-learn's 8x8 digits: `pixels[batch, 64]` (0-16) -> `probabilities[batch, 10]`."""
    digits = load_digits()
    classifier = LogisticRegression(max_iter=2000, random_state=seed).fit(digits.data / 16.0, digits.target)
    weights = (classifier.coef_.T / 16.0).astype(np.float32)  # folds the 0-16 -> 0-1 scaling into the weights
    bias = classifier.intercept_.astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["pixels", "weights"], ["scaled"]),
            helper.make_node("Add", ["scaled", "bias"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "digits",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        initializer=[numpy_helper.from_array(weights, "weights"), numpy_helper.from_array(bias, "bias")],
    )
    return finish(graph)


def heavy_mlp(seed: int = 0) -> onnx.ModelProto:
    """64-2048-2048-2048-10: heavy enough per sample that batching pays (for benchmarks)."""
    return mlp((64, 2048, 2048, 2048, 10), seed=seed, name="heavy_mlp")


VOCABULARY_SIZE = 4096
EMBEDDING_SIZE = 32
CONTEXT_TOKENS = 64
QUESTION_TOKENS = 16


def token_id(word: str) -> int:
    """Hashing tokeniser shared with the text example's score.py: no vocabulary file; 0 is padding."""
    return 1 + zlib.crc32(word.lower().encode()) % (VOCABULARY_SIZE - 1)


def span_reader(seed: int = 0) -> onnx.ModelProto:
    """A BiDAF-shaped reader: context and question token ids -> start and end logits over the context.

    Each context token gets its best similarity to a question word (unit-normalised word embeddings), so matches
    score 1. `start_logits` favour the first token of a matching phrase (minus half the previous token's match) and
    `end_logits` its last (minus half the next token's), so the best span covers the whole phrase. Padding (id 0)
    embeds to zeros.
    """
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((VOCABULARY_SIZE, EMBEDDING_SIZE)).astype(np.float32)
    table /= np.linalg.norm(table, axis=1, keepdims=True)
    table[0] = 0.0
    identity = np.eye(CONTEXT_TOKENS, dtype=np.float32)
    previous = np.eye(CONTEXT_TOKENS, k=1, dtype=np.float32)  # (m @ previous)[j] == m[j - 1]
    nodes = [
        helper.make_node("Gather", ["embeddings", "context_ids"], ["context_vectors"]),
        helper.make_node("Gather", ["embeddings", "question_ids"], ["question_vectors"]),
        helper.make_node("Transpose", ["question_vectors"], ["question_t"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["context_vectors", "question_t"], ["similarity"]),
        helper.make_node("ReduceMax", ["similarity"], ["match"], axes=[2], keepdims=0),
        helper.make_node("MatMul", ["match", "start_weights"], ["start_logits"]),
        helper.make_node("MatMul", ["match", "end_weights"], ["end_logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "span_reader",
        [
            helper.make_tensor_value_info("context_ids", TensorProto.INT64, ["batch", CONTEXT_TOKENS]),
            helper.make_tensor_value_info("question_ids", TensorProto.INT64, ["batch", QUESTION_TOKENS]),
        ],
        [
            helper.make_tensor_value_info("start_logits", TensorProto.FLOAT, ["batch", CONTEXT_TOKENS]),
            helper.make_tensor_value_info("end_logits", TensorProto.FLOAT, ["batch", CONTEXT_TOKENS]),
        ],
        initializer=[
            numpy_helper.from_array(table, "embeddings"),
            numpy_helper.from_array(identity - 0.5 * previous, "start_weights"),
            numpy_helper.from_array(identity - 0.5 * previous.T, "end_weights"),
        ],
    )
    return finish(graph)
