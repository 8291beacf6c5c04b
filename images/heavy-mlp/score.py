"""Heavy MLP (about 8.5 M weights): rows of 64 features in, class and confidence per row out."""

import json

import numpy as np

from scoring import BadRequest
from scoring.triton import client

MODEL = "heavy_mlp"


def init():
    client().model_metadata(MODEL)


def run(raw_data):
    batch = np.asarray(json.loads(raw_data).get("data"), dtype=np.float32)
    if batch.ndim != 2 or batch.shape[1] != 64:
        raise BadRequest(f"'data' must be rows of 64 numbers, got shape {list(batch.shape)}")
    probabilities = client().infer_numpy(MODEL, {"x": batch}, ["probabilities"])["probabilities"]
    return {
        "labels": probabilities.argmax(axis=1).tolist(),
        "confidence": probabilities.max(axis=1).round(6).tolist(),
    }
