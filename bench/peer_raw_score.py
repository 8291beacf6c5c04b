"""The raw-bytes peer: aml-digits' pre/post-processing (PIL decodes the posted image, 8x8 grey) with the model run
in-process by azureml-inference-server-http; BENCH_MODEL_FILE names the ONNX file."""

import io
import os

import numpy as np
import onnxruntime as ort
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse
from PIL import Image

NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def init():
    global session
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one core per worker: WORKER_COUNT workers share the machine
    session = ort.InferenceSession(os.environ["BENCH_MODEL_FILE"], options, providers=["CPUExecutionProvider"])


@rawhttp
def run(request: AMLRequest):
    grey = Image.open(io.BytesIO(request.get_data())).convert("L").resize((8, 8))
    pixels = (np.asarray(grey, dtype=np.float32) * (16.0 / 255.0)).reshape(1, 64)
    probabilities = session.run(["probabilities"], {"pixels": pixels})[0]
    label = int(np.argmax(probabilities[0]))
    return AMLResponse(f"{label} : {NAMES[label]}", 200)
