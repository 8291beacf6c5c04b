# The peer's side of `azureml.contrib.services`: what the azureml-contrib-services package provides on Azure ML,
# a re-export of azureml-inference-server-http's own API.
from azureml_inference_server_http.api.aml_request import AMLRequest, rawhttp  # noqa: F401
