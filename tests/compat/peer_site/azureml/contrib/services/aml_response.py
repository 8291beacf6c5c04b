# See aml_request.py beside this file.
from azureml_inference_server_http.api.aml_response import AMLResponse  # noqa: F401
