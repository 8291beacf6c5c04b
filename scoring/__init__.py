"""triton-kit scoring runtime: the Gunicorn scoring app and supervisor that run in front of Triton in each image.

Entry scripts may use: `from scoring import rawhttp, Response, BadRequest` and `from scoring.triton import client`.
"""

from scoring.entry_script import rawhttp
from scoring.responses import BadRequest, RawRequest, Response

__all__ = ["BadRequest", "RawRequest", "Response", "rawhttp"]
