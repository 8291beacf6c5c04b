# A script that opens its own tritonclient.http client in init(), as Azure ML's Triton samples do.
import json
import os

import numpy as np
import tritonclient.http as httpclient


def init():
    global client
    client = httpclient.InferenceServerClient(os.environ.get("TRITON_URL", "localhost:8000"))


def run(raw_data):
    batch = np.asarray(json.loads(raw_data)["data"], dtype=np.float32)
    tensor = httpclient.InferInput("x", list(batch.shape), "FP32")
    tensor.set_data_from_numpy(batch)
    result = client.infer("mlp", [tensor], outputs=[httpclient.InferRequestedOutput("probabilities")])
    return {"labels": result.as_numpy("probabilities").argmax(axis=1).tolist(), "ready": client.is_server_ready()}
