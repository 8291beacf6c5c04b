"""Tiny ONNX classifier: rows of 8 features in, the most likely class and all probabilities out."""

import json

import numpy as np

from scoring import BadRequest
from scoring.triton import client

MODEL = "mlp"


def init():
    client().model_metadata(MODEL)  # fail at start, not at the first request, if the model is missing


def run(raw_data):
    rows = json.loads(raw_data).get("data")
    batch = np.asarray(rows, dtype=np.float32)
    if batch.ndim != 2 or batch.shape[1] != 8:
        raise BadRequest(f"'data' must be a list of rows of 8 numbers, got shape {list(batch.shape)}")
    probabilities = client().infer_numpy(MODEL, {"x": batch}, ["probabilities"])["probabilities"]
    return {"labels": probabilities.argmax(axis=1).tolist(), "probabilities": probabilities.round(6).tolist()}
