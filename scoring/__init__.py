"""triton-kit scoring runtime: the Gunicorn scoring app and supervisor that run in front of Triton in each image.

Entry scripts may use: `from scoring import rawhttp, Response, BadRequest` and `from scoring.triton import client`.
"""

from scoring.aml_request import AMLRequest
from scoring.entry_script import rawhttp
from scoring.responses import AMLResponse, BadRequest, Response

RawRequest = AMLRequest  # the name earlier releases used

__all__ = ["AMLRequest", "AMLResponse", "BadRequest", "RawRequest", "Response", "rawhttp"]
