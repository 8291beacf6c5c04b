"""Handwritten digits, written for Azure ML exactly as Microsoft's Triton tutorial writes its entry script:
raw image bytes in (rawhttp), a text answer out (AMLResponse), labels read from the registered model folder, Triton
called through a helper that opens its own client to localhost:8000. Nothing here knows about triton-kit.

POST raw PNG/JPEG bytes            -> "7 : seven"
POST {"data": [64 pixels, 0-16]}   -> {"label": 1, "name": "one"}   (decoded and checked by inference-schema)
GET  /score?label=3                -> "three"
"""

import io
import os

import numpy as np
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse
from azureml.core import Model
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema
from onnxruntimetriton import InferenceSession
from PIL import Image, UnidentifiedImageError

MODEL_NAME = "digits-model"  # the registered model: the models/ folder


def preprocess(image):
    """Grey scale, 8x8, 0-16 with white ink on black (how the model was trained)."""
    grey = image.convert("L").resize((8, 8))
    return (np.asarray(grey, dtype=np.float32) * (16.0 / 255.0)).reshape(1, 64)


def postprocess(probabilities):
    label = int(np.argmax(probabilities[0]))
    return label, labels[label]


def init():
    global session, labels
    session = InferenceSession(path_or_bytes="digits")
    # The registered folder keeps its name under AZUREML_MODEL_DIR; Model.get_model_path finds the same folder.
    model_dir = os.path.join(os.environ["AZUREML_MODEL_DIR"], "models")
    if not os.path.isdir(os.path.join(Model.get_model_path(MODEL_NAME), "triton", "digits")):
        raise RuntimeError(f"model {MODEL_NAME} has no triton/digits folder")
    with open(os.path.join(model_dir, "triton", "digits", "labels.txt")) as label_file:
        labels = label_file.read().split("\n")


@input_schema("pixels", NumpyParameterType(np.zeros((1, 64), dtype=np.float32)))
@output_schema(StandardPythonParameterType({"label": 0, "name": "zero"}))
def classify_pixels(pixels):
    (probabilities,) = session.run([session.get_outputs()[0].name], {session.get_inputs()[0].name: pixels})
    label, name = postprocess(probabilities)
    return {"label": label, "name": name}


@rawhttp
def run(request: AMLRequest):
    if request.method == "GET":
        label = request.args.get("label", "")
        if not label.isdigit() or int(label) >= 10:
            return AMLResponse("give ?label=0..9", 400)
        return AMLResponse(labels[int(label)], 200)
    if request.headers.get("Content-Type", "").startswith("application/json"):
        return AMLResponse(classify_pixels(pixels=[request.get_json()["data"]]), 200, json_str=True)
    try:
        image = Image.open(io.BytesIO(request.get_data()))
        pixels = preprocess(image)
    except (UnidentifiedImageError, OSError):
        return AMLResponse("send a PNG or JPEG image as application/octet-stream", 400)
    (probabilities,) = session.run([session.get_outputs()[0].name], {session.get_inputs()[0].name: pixels})
    label, name = postprocess(probabilities)
    return AMLResponse(f"{label} : {name}", 200)
