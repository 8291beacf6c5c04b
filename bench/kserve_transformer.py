"""The KServe peer: KServe's documented Triton pattern, a Python transformer (pre/post-processing) in front of Triton.

Clients POST {"data": [[...]]} to /v1/models/<model>:predict; preprocess turns it into a v2 InferRequest, KServe sends
it to Triton over HTTP (--predictor_host, --predictor_protocol v2), postprocess answers what the kit's mlp-classifier
answers ({"labels": [...], "probabilities": [[...]]}). Run by bench/targets.py in its own environment (.venv-kserve).
"""

import argparse

import numpy as np
from kserve import InferInput, InferRequest, Model, ModelServer, model_server
from kserve.predictor_config import PredictorConfig


class Transformer(Model):
    def __init__(self, name: str, input_name: str, output_name: str, predictor: PredictorConfig) -> None:
        super().__init__(name)
        self.input_name = input_name
        self.output_name = output_name
        self.predictor = predictor
        self.ready = True

    @property
    def predictor_config(self) -> PredictorConfig:
        """Carried by the model itself: with --workers above 1, KServe 0.21's worker processes lose the server's
        context and answer "Could not find PredictorConfig"."""
        return self.predictor

    async def preprocess(self, payload, headers=None):
        batch = np.asarray(payload["data"], dtype=np.float32)
        tensor = InferInput(name=self.input_name, shape=list(batch.shape), datatype="FP32")
        tensor.set_data_from_numpy(batch, binary_data=False)
        return InferRequest(model_name=self.name, infer_inputs=[tensor])

    async def postprocess(self, result, headers=None, response_headers=None):
        output = next(output for output in result.outputs if output.name == self.output_name)
        probabilities = output.as_numpy()
        return {"labels": probabilities.argmax(axis=1).tolist(), "probabilities": probabilities.round(6).tolist()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[model_server.parser], conflict_handler="resolve")
    parser.add_argument("--input_name", default="x")
    parser.add_argument("--output_name", default="probabilities")
    arguments, _ = parser.parse_known_args()
    predictor = PredictorConfig(arguments.predictor_host, arguments.predictor_protocol)
    transformer = Transformer(arguments.model_name, arguments.input_name, arguments.output_name, predictor)
    ModelServer(workers=arguments.workers).start([transformer])
