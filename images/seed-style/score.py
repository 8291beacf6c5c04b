# Written like the Azure ML Triton guide's entry script, unmodified in style: one global tritonhttpclient client made
# in init(), the model's metadata queried at run time, InferInput + set_data_from_numpy, InferRequestedOutput with
# class_count, infer. The kit's tritonhttpclient shim makes the shared client safe under concurrent requests.
import json

import numpy as np
import tritonhttpclient

model_name = "digits"
class_count = 3


def init():
    global triton_client
    triton_client = tritonhttpclient.InferenceServerClient(url="localhost:8000")


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"], dtype=np.float32)

    model_metadata = triton_client.get_model_metadata(model_name)
    input_meta = model_metadata["inputs"][0]
    output_meta = model_metadata["outputs"][0]

    input = tritonhttpclient.InferInput(input_meta["name"], data.shape, input_meta["datatype"])
    input.set_data_from_numpy(data, binary_data=True)

    output = tritonhttpclient.InferRequestedOutput(output_meta["name"], binary_data=True, class_count=class_count)

    res = triton_client.infer(model_name, [input], request_id="0", outputs=[output])
    top = res.as_numpy(output_meta["name"])

    result = []
    for row in top:
        entries = [entry.decode("utf-8").split(":") for entry in row]
        result.append([{"label": int(label), "probability": float(value)} for value, label in entries])
    return result
