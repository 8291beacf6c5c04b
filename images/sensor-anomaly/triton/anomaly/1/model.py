"""Anomaly score = largest absolute z-score of a reading; every request of a dynamic batch in one numpy pass."""

import json

import numpy as np
import triton_python_backend_utils as pb_utils


def parameter(config, key):
    return config["parameters"][key]["string_value"]


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.mean = np.array([float(value) for value in parameter(config, "mean").split(",")], dtype=np.float32)
        self.std = np.array([float(value) for value in parameter(config, "std").split(",")], dtype=np.float32)
        self.threshold = float(parameter(config, "threshold"))

    def execute(self, requests):
        batches = [pb_utils.get_input_tensor_by_name(request, "READINGS").as_numpy() for request in requests]
        readings = np.concatenate(batches)
        scores = np.abs((readings - self.mean) / self.std).max(axis=1, keepdims=True).astype(np.float32)
        responses, start = [], 0
        for batch in batches:
            score = scores[start : start + len(batch)]
            start += len(batch)
            outputs = [pb_utils.Tensor("SCORE", score), pb_utils.Tensor("ANOMALOUS", score > self.threshold)]
            responses.append(pb_utils.InferenceResponse(outputs))
        return responses
