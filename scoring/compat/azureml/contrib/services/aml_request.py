"""`azureml.contrib.services.aml_request` for entry scripts: the kit's runtime stands in for Azure ML's.

A namespace-package module: a real azureml-contrib-services installed by the image's requirements takes precedence.
"""

from scoring.aml_request import AMLRequest
from scoring.entry_script import rawhttp

__all__ = ["AMLRequest", "rawhttp"]
