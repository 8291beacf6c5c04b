"""What run() may return or raise to control the HTTP answer, and the request a @rawhttp run() receives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson


@dataclass
class Response:
    """Returned by run() as is: no JSON encoding."""

    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


class BadRequest(ValueError):
    """Raise from run() to answer 400 with this message."""


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    args: Mapping[str, str]
    data: bytes

    def get_data(self, as_text: bool = False) -> bytes | str:
        return self.data.decode() if as_text else self.data

    def json(self) -> object:
        return orjson.loads(self.data)


def encode_json(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
