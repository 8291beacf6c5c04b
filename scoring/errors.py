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
        super().__init__(f"run() did not finish within SCORING_TIMEOUT_MS={timeout_ms}")


class RequestTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than MAX_REQUEST_BYTES={limit}")


class InvalidBody(Exception):
    pass


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
    if isinstance(error, RequestTooLarge):
        return 413, str(error)
    if isinstance(error, UnicodeDecodeError):
        return 400, f"request body is not valid UTF-8 ({error.reason} at byte {error.start})"
    if isinstance(error, (json.JSONDecodeError, orjson.JSONDecodeError)):
        return 400, f"request body is not valid JSON: {error}"
    if isinstance(error, (BadRequest, InvalidBody)):
        return 400, str(error)
    if isinstance(error, ScoringTimeout):
        return 504, str(error)
    if isinstance(error, InferenceServerException):
        status = error.status() or ""
        if status == "400":
            return 400, f"Triton rejected the request: {error.message()}"
        if status in ("502", "503", "504"):
            return 503, f"Triton is not available: {error.message()}"
        return 500, f"Triton failed: {error.message()}"
    if isinstance(error, (ConnectionError, TimeoutError)) or (isinstance(error, OSError) and error.errno is not None):
        return 503, f"Triton at {settings.triton_url} is not reachable ({error.__class__.__name__}: {error})"
    return 500, f"run() failed: {error.__class__.__name__}: {error}"
