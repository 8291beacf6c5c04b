"""`azureml.contrib.services.aml_response` for entry scripts (see aml_request.py beside this file)."""

from scoring.responses import AMLResponse

__all__ = ["AMLResponse"]
