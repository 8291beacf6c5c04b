"""Rows of 8 features uploaded as a JSON document ({"data": [[...], ...]}) or as a CSV file: libmagic tells which."""

import csv
import io
import json

import magic
import numpy as np

from scoring import BadRequest
from scoring.triton import client

MODEL = "mlp"
FORMATS = ("application/json", "text/csv")


def init():
    client().model_metadata(MODEL)


def rows_from(body: str, kind: str) -> list:
    if kind == "application/json":
        return json.loads(body).get("data")
    return [[float(value) for value in row] for row in csv.reader(io.StringIO(body)) if row]


def run(raw_data):
    kind = magic.from_buffer(raw_data.encode(), mime=True)
    if kind not in FORMATS:
        raise BadRequest(f"upload rows as {' or '.join(FORMATS)}; this body looks like {kind}")
    try:
        batch = np.asarray(rows_from(raw_data, kind), dtype=np.float32)
    except (ValueError, TypeError, AttributeError) as error:
        raise BadRequest(f"could not read rows from the {kind} upload: {error}") from None
    if batch.ndim != 2 or batch.shape[1] != 8:
        raise BadRequest(f"rows of 8 numbers expected, got shape {list(batch.shape)}")
    probabilities = client().infer_numpy(MODEL, {"x": batch}, ["probabilities"])["probabilities"]
    return {"format": kind, "labels": probabilities.argmax(axis=1).tolist()}
