"""An onnxruntime-style session that runs models on the Triton server beside this app (localhost:8000), as in
Azure ML's Triton tutorial: the entry script keeps its onnxruntime calls, the helper sends them to Triton."""

import numpy as np
import tritonclient.http as tritonhttpclient

TRITON_URL = "localhost:8000"


class NodeArg:
    def __init__(self, name, shape, type):
        self.name = name
        self.shape = shape
        self.type = type


class InferenceSession:
    def __init__(self, path_or_bytes, sess_options=None, providers=None):
        self.client = tritonhttpclient.InferenceServerClient(TRITON_URL)
        self.model_name = path_or_bytes
        metadata = self.client.get_model_metadata(model_name=self.model_name)
        self.inputs = [NodeArg(item["name"], item["shape"], item["datatype"]) for item in metadata["inputs"]]
        self.outputs = [NodeArg(item["name"], item["shape"], item["datatype"]) for item in metadata["outputs"]]

    def get_inputs(self):
        return self.inputs

    def get_outputs(self):
        return self.outputs

    def run(self, output_names, input_feed, run_options=None):
        inputs = []
        for name, value in input_feed.items():
            tensor = tritonhttpclient.InferInput(name, list(value.shape), "FP32")
            tensor.set_data_from_numpy(np.ascontiguousarray(value, dtype=np.float32))
            inputs.append(tensor)
        outputs = [tritonhttpclient.InferRequestedOutput(name) for name in output_names]
        result = self.client.infer(self.model_name, inputs, outputs=outputs)
        return [result.as_numpy(name) for name in output_names]
