"""How a failed request maps to an HTTP status and a message the caller can act on."""

from __future__ import annotations

import json
from typing import Any

import orjson
from tritonclient.utils import InferenceServerException

from scoring.responses import BadRequest
from scoring.settings import Settings

READ_CHUNK = 1 << 16


class ScoringTimeout(Exception):
    def __init__(self, timeout_ms: int) -> None:
        super().__init__(f"Scoring timeout after {timeout_ms} ms")  # Azure ML's words


class RequestTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than MAX_REQUEST_BYTES={limit}")


class InvalidBody(Exception):
    pass


class InputError(Exception):
    """The request cannot be turned into run()'s arguments (Azure ML's status and words)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


SCRIPT_FAILED = "An unexpected error occurred in scoring script. Check the logs for more info."
INTERNAL_ERROR = "An unexpected internal error occurred. Check the logs for more info."


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, refusing (before reading it all) anything over `limit` bytes."""
    stream = environ["wsgi.input"]
    length_header = environ.get("CONTENT_LENGTH") or ""
    if length_header:
        try:
            length = int(length_header)
        except ValueError:
            raise InvalidBody(f"Content-Length {length_header!r} is not a number") from None
        if length > limit:
            raise RequestTooLarge(limit)
        return stream.read(length) if length > 0 else b""
    chunks, size = [], 0
    while True:  # chunked upload: read until the end or until it proves too large
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(limit)
        chunks.append(chunk)


def classify(error: BaseException, settings: Settings) -> tuple[int, str]:
    """Status and client message; a generic 500 hides the exception unless SCORING_DEBUG_ERRORS=1."""
    if isinstance(error, RequestTooLarge):
        return 413, str(error)
    if isinstance(error, InputError):
        return error.status, str(error)
    if isinstance(error, UnicodeDecodeError):
        return 400, f"Input cannot be decoded as UTF-8: {error}"
    if isinstance(error, (json.JSONDecodeError, orjson.JSONDecodeError)):
        return 400, f"request body is not valid JSON: {error}"
    if isinstance(error, (BadRequest, InvalidBody)):
        return 400, str(error)
    if isinstance(error, ScoringTimeout):
        return 500, str(error)
    if isinstance(error, InferenceServerException):
        status = error.status() or ""
        if status == "400":
            return 400, f"Triton rejected the request: {error.message()}"
        if status in ("502", "503", "504"):
            return 503, f"Triton is not available: {error.message()}"
    elif isinstance(error, (ConnectionError, TimeoutError)) or (isinstance(error, OSError) and error.errno is not None):
        return 503, f"Triton at {settings.triton_url} is not reachable ({error.__class__.__name__})"
    if settings.debug_errors:
        return 500, f"{SCRIPT_FAILED} {error.__class__.__name__}: {error}"
    return 500, SCRIPT_FAILED
