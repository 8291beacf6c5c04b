"""Handwritten digits (scikit-learn's 8x8 set): raw pixels or a base64 PNG in, top-3 labels with probabilities out.

Pre-processing: PNG decode, grey scale, resize to 8x8, scale to 0-16 (white ink on black, like the training data).
Triton: the bare model.onnx (no config.pbtxt), with Triton's classification extension picking the top classes.
"""

import base64
import binascii
import io
import json

import numpy as np
import tritonclient.http as triton_http
from PIL import Image, UnidentifiedImageError

from scoring import BadRequest
from scoring.triton import client

MODEL = "digits"
TOP_K = 3


def init():
    client().model_metadata(MODEL)


def pixels(item):
    if isinstance(item, str):
        try:
            image = Image.open(io.BytesIO(base64.b64decode(item, validate=True))).convert("L").resize((8, 8))
        except (binascii.Error, UnidentifiedImageError, OSError) as error:
            raise BadRequest(f"image is not a base64-encoded PNG/JPEG: {error}") from None
        return np.asarray(image, dtype=np.float32).reshape(64) * (16.0 / 255.0)
    values = np.asarray(item, dtype=np.float32).reshape(-1)
    if values.size != 64 or values.min() < 0 or values.max() > 16:
        raise BadRequest("pixel images are 64 (8x8) numbers from 0 to 16")
    return values


def run(raw_data):
    images = json.loads(raw_data).get("images")
    if not isinstance(images, list) or not images:
        raise BadRequest('send {"images": [<64 pixels or base64 PNG>, ...]}')
    batch = np.stack([pixels(item) for item in images])
    tensor = triton_http.InferInput("pixels", list(batch.shape), "FP32")
    tensor.set_data_from_numpy(batch, binary_data=True)
    top = triton_http.InferRequestedOutput("probabilities", binary_data=True, class_count=TOP_K)
    result = client().infer(MODEL, [tensor], outputs=[top]).as_numpy("probabilities")
    predictions = []
    for row in result.reshape(len(images), TOP_K):
        entries = [entry.decode().split(":") for entry in row]
        predictions.append([{"label": int(label), "probability": round(float(value), 6)} for value, label in entries])
    return {"predictions": predictions}
