# An entry script written exactly like the Azure ML Triton guide's (one global client from init(), metadata at
# run time, InferInput + set_data_from_numpy, InferRequestedOutput with class_count): it must run unmodified.
import json

import numpy as np
import tritonhttpclient

model_name = "mlp"


def init():
    global triton_client
    triton_client = tritonhttpclient.InferenceServerClient(url="localhost:8000")


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"], dtype=np.float32)
    metadata = triton_client.get_model_metadata(model_name)
    input_meta, output_meta = metadata["inputs"][0], metadata["outputs"][0]
    for candidate in metadata["outputs"]:
        if candidate["name"] == "probabilities":
            output_meta = candidate

    request_input = tritonhttpclient.InferInput(input_meta["name"], data.shape, input_meta["datatype"])
    request_input.set_data_from_numpy(data, binary_data=True)
    output = tritonhttpclient.InferRequestedOutput(output_meta["name"], binary_data=True, class_count=3)

    res = triton_client.infer(model_name, [request_input], request_id="0", outputs=[output])
    top = res.as_numpy(output_meta["name"])
    return [[entry.decode("utf-8") for entry in row] for row in top]
