"""The peer: the same model and the same pre/post-processing, run in-process by azureml-inference-server-http.

Configured by BENCH_MODEL_FILE (an ONNX file) and BENCH_OUTPUT ("probabilities" -> labels + probabilities rounded like
mlp-classifier; "confidence" -> labels + confidence like heavy-mlp).
"""

import json
import os

import numpy as np
import onnxruntime as ort


def init():
    global session, output_style
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one core per worker: WORKER_COUNT workers share the machine
    session = ort.InferenceSession(os.environ["BENCH_MODEL_FILE"], options, providers=["CPUExecutionProvider"])
    output_style = os.environ.get("BENCH_OUTPUT", "probabilities")


def run(raw_data):
    batch = np.asarray(json.loads(raw_data)["data"], dtype=np.float32)
    probabilities = session.run(["probabilities"], {"x": batch})[0]
    labels = probabilities.argmax(axis=1).tolist()
    if output_style == "confidence":
        return {"labels": labels, "confidence": probabilities.max(axis=1).round(6).tolist()}
    return {"labels": labels, "probabilities": probabilities.round(6).tolist()}
