"""Sensor readings (temperature, pressure, humidity, vibration) in; an anomaly score and verdict per reading out."""

import json

import numpy as np

from scoring import BadRequest
from scoring.triton import client

MODEL = "anomaly"
FIELDS = ("temperature", "pressure", "humidity", "vibration")


def init():
    client().model_metadata(MODEL)


def run(raw_data):
    readings = json.loads(raw_data).get("readings")
    try:
        batch = np.asarray([[float(reading[field]) for field in FIELDS] for reading in readings], dtype=np.float32)
    except (KeyError, TypeError, ValueError):
        raise BadRequest(f"send {{'readings': [{{{', '.join(FIELDS)}}}, ...]}} with numbers") from None
    outputs = client().infer_numpy(MODEL, {"READINGS": batch})
    return [
        {"score": round(float(score), 5), "anomalous": bool(flag)}
        for score, flag in zip(outputs["SCORE"][:, 0], outputs["ANOMALOUS"][:, 0], strict=True)
    ]
