"""What run() may return or raise to control the HTTP answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

HTML = "text/html; charset=utf-8"  # Flask's default for a str/bytes body, which Azure ML's AMLResponse keeps


@dataclass
class Response:
    """Returned by run() as is: no JSON encoding."""

    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body

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
        else:
            body = message if isinstance(message, bytes) else str(message).encode()
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


def encode_json(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
