"""What run() may return or raise to control the HTTP answer."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from scoring.streaming import chunk_bytes

HTML = "text/html; charset=utf-8"  # Flask's default for a str/bytes body, which Azure ML's AMLResponse keeps


@dataclass
class Response:
    """Returned by run() as is: no JSON encoding. An iterator or generator body is streamed (scoring/streaming.py)."""

    body: bytes | str | Iterable[Any] = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        """The whole body as bytes; an iterable body is consumed and joined."""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return b"".join(chunk_bytes(chunk) for chunk in self.body)

    def header_items(self) -> list[tuple[str, str]]:
        return [("Content-Type", self.content_type), *self.headers.items()]


class AMLResponse(Response):
    """Azure ML's AMLResponse: the body as given (or JSON with json_str), any status, and x-ms-run-function-failed."""

    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: Mapping[str, str] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        headers = dict(response_headers or {})
        if message is None:
            body, content_type = b"{}", "application/json"
        elif json_str:
            body, content_type = json.dumps(message).encode(), "application/json"  # json.dumps: Azure ML's spacing
        else:  # as Werkzeug takes it: text, bytes, or an iterable joined (with a length) or streamed (without)
            body = message.encode() if isinstance(message, str) else message
            content_type = HTML
        super().__init__(body, int(status_code), headers, content_type)
        self.run_function_failed = run_function_failed

    def header_items(self) -> list[tuple[str, str]]:
        items: list[tuple[str, str]] = []
        has_type = any(name.lower() == "content-type" for name in self.headers)
        if not has_type:
            items.append(("Content-Type", self.content_type))
        items.append(("x-ms-run-function-failed", str(bool(self.run_function_failed))))
        for name, value in self.headers.items():  # Azure ML sends "a, b" as two headers
            items.extend((name, part.strip()) for part in str(value).split(","))
        return items


class BadRequest(ValueError):
    """Raise from run() to answer 400 with this message."""


ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def encode_json(value: object) -> bytes:
    """orjson's encoding; a result holding NaN or an infinity gets Azure ML's NaN, Infinity, -Infinity (json.dumps)."""
    body = orjson.dumps(value, option=ORJSON_OPTIONS)
    if b"null" in body and not_finite(value):  # orjson writes null for them; only then is the result walked
        try:
            return json.dumps(value, default=plain, separators=(",", ":")).encode()
        except (TypeError, ValueError):  # keys json cannot take (orjson's OPT_NON_STR_KEYS can): keep orjson's
            return body
    return body


def not_finite(value: object) -> bool:
    if value is None or isinstance(value, (str, int)):
        return False
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(not_finite(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        try:  # a list of numbers at C speed: NaN and infinities survive a sum (an overflow only costs json.dumps)
            return not math.isfinite(sum(value))
        except (TypeError, OverflowError):
            return any(not_finite(item) for item in value)
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.floating)):
        return value.dtype.kind in "fc" and not bool(numpy.isfinite(value).all())
    return False


def plain(value: object) -> object:
    """What json.dumps cannot encode, as orjson encodes it (numpy as lists and numbers, so NaN stays NaN)."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic)):
        return value.tolist()
    return orjson.loads(orjson.dumps(value, option=ORJSON_OPTIONS))
