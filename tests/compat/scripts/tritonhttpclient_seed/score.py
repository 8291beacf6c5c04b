# The seed's style: the old `tritonhttpclient` module name and one global client made in init().
import json
import os

import numpy as np
import tritonhttpclient


def init():
    global client
    client = tritonhttpclient.InferenceServerClient(os.environ.get("TRITON_URL", "localhost:8000"))


def run(raw_data):
    values = np.asarray(json.loads(raw_data)["values"], dtype=np.float32)
    tensor = tritonhttpclient.InferInput("VALUES", list(values.shape), "FP32")
    tensor.set_data_from_numpy(values, binary_data=False)
    result = client.infer("doubler", [tensor])
    return {"doubled": result.as_numpy("DOUBLED").tolist()}
