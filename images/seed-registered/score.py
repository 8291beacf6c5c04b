# The seed guide's entry script pattern: one global tritonhttpclient client to Triton on localhost:8000 made in
# init(), the model's metadata asked at run time, InferInput + set_data_from_numpy, infer. The client posts raw bytes:
# rows of 64 little-endian float32 values. The model comes from the registered folder Azure ML mounts at
# AZUREML_MODEL_DIR; Triton reads it from there, so nothing here names a path.
import numpy as np
import tritonhttpclient
from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse

model_name = "heavy_mlp"
row_bytes = 64 * 4


def init():
    global triton_client
    triton_client = tritonhttpclient.InferenceServerClient(url="localhost:8000")


@rawhttp
def run(request: AMLRequest):
    body = request.get_data()
    if not body or len(body) % row_bytes:
        return AMLResponse("send rows of 64 little-endian float32 values (256 bytes each)", 400)
    data = np.frombuffer(body, dtype="<f4").reshape(-1, 64)

    model_metadata = triton_client.get_model_metadata(model_name)
    input_meta = model_metadata["inputs"][0]
    output_meta = model_metadata["outputs"][0]

    input = tritonhttpclient.InferInput(input_meta["name"], data.shape, input_meta["datatype"])
    input.set_data_from_numpy(data, binary_data=True)
    output = tritonhttpclient.InferRequestedOutput(output_meta["name"], binary_data=True)

    res = triton_client.infer(model_name, [input], outputs=[output])
    probabilities = res.as_numpy(output_meta["name"])
    return {
        "labels": probabilities.argmax(axis=1).tolist(),
        "confidence": probabilities.max(axis=1).round(6).tolist(),
    }
