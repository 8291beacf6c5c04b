"""Samples in image.yaml: what a real client sends (JSON, raw bytes, GET queries) and what must come back."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

JSON_TYPE = "application/json"
RAW_TYPE = "application/octet-stream"
EXPECTATIONS = ("expected", "expected_file", "expected_text", "expected_regex", "expected_chunks")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def compiled(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(
            f"regex {pattern!r} does not compile ({error}); fix the pattern (escape . ( ) [ ] with a backslash, "
            "or use expected_text for an exact answer)"
        ) from None
    return pattern


class HeaderRegex(Strict):
    regex: str = Field(description="the whole header value must match")

    @field_validator("regex")
    @classmethod
    def compiles(cls, value: str) -> str:
        return compiled(value)


class Sample(Strict):
    name: str
    method: Literal["POST", "GET"] = "POST"
    # The request: inline JSON, or a file sent as is (raw bytes) with content_type.
    request: Any = None
    request_file: str | None = None
    content_type: str | None = Field(default=None, description="default: application/json for JSON, else raw bytes")
    query: str | dict[str, str | int | float | list[str | int | float]] | None = Field(
        default=None, description="GET query string: 'a=1&b=2' or a mapping"
    )
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    # What must come back: exactly one of these.
    expected: Any = None
    expected_file: str | None = None
    expected_format: Literal["json", "text", "binary"] | None = Field(
        default=None, description="how to compare expected_file: json (default for .json), text or binary"
    )
    expected_text: str | None = None
    expected_regex: str | None = Field(default=None, description="the whole text body must match")
    expected_chunks: list[str] | None = Field(
        default=None, description="a streamed answer's chunks as sent, in order, each as text (implies streamed)"
    )
    streamed: bool = Field(
        default=False,
        description="the answer must come chunked (run() returned a generator) and end with its closing chunk; "
        "expected, expected_text, ... then compare the chunks joined",
    )
    status: int = Field(default=200, ge=100, le=599)
    expected_headers: dict[str, str | HeaderRegex] = Field(default_factory=dict)
    tolerance: float = Field(default=0.0, ge=0.0, description="absolute tolerance for numbers")
    fields: list[str] | None = Field(default=None, description="compare only these top-level fields")

    @field_validator("expected_regex")
    @classmethod
    def regex_compiles(cls, value: str | None) -> str | None:
        return None if value is None else compiled(value)

    @model_validator(mode="after")
    def one_request_and_expectation(self) -> Sample:
        given = (self.request is not None) + (self.request_file is not None)
        if self.method == "POST" and given != 1:
            raise ValueError("give exactly one of request (inline JSON) or request_file (path in the image folder)")
        if self.method == "GET" and (given > 1 or (given and self.query is not None)):
            raise ValueError("a GET sample takes query (or one of request / request_file holding a JSON object)")
        if self.method == "GET" and self.content_type is not None:
            raise ValueError("content_type is for POST bodies; remove it from the GET sample")
        expectations = [name for name in EXPECTATIONS if getattr(self, name) is not None]
        if len(expectations) != 1:
            raise ValueError(
                "give exactly one of expected (inline JSON), expected_file, expected_text or expected_regex "
                "(or expected_chunks: a streamed answer's chunks)"
            )
        if self.expected_format is not None and self.expected_file is None:
            raise ValueError("expected_format applies to expected_file only; remove it")
        if self.compare_as != "json" and (self.fields is not None or self.tolerance):
            raise ValueError("fields and tolerance compare JSON answers; remove them for a text or binary answer")
        return self

    @property
    def is_streamed(self) -> bool:
        return self.streamed or self.expected_chunks is not None

    @property
    def compare_as(self) -> Literal["json", "text", "binary", "regex", "chunks"]:
        if self.expected_chunks is not None:
            return "chunks"
        if self.expected_regex is not None:
            return "regex"
        if self.expected_text is not None:
            return "text"
        if self.expected_file is not None:
            return self.expected_format or ("json" if self.expected_file.endswith(".json") else "binary")
        return "json"

    def request_content_type(self) -> str:
        if self.content_type is not None:
            return self.content_type
        if self.request_file is not None and not self.request_file.endswith(".json"):
            return RAW_TYPE
        return JSON_TYPE


def sample_file_problems(folder: Path, index: int, sample: Sample) -> list[str]:
    """Missing files and unreadable JSON, each naming the sample's field."""
    problems = []
    for field in ("request_file", "expected_file"):
        relative = getattr(sample, field)
        if relative is None:
            continue
        target = folder / relative
        if not target.is_file():
            problems.append(f"samples.{index}.{field}: {relative} not found in {folder}; add the file or fix the path")
            continue
        must_be_json = sample.method == "GET" if field == "request_file" else sample.compare_as == "json"
        if must_be_json:
            try:
                json.loads(target.read_bytes().decode("utf-8-sig"))
            except (ValueError, RecursionError) as error:
                problems.append(f"samples.{index}.{field}: {relative} is not valid JSON ({error})")
    return problems


def sample_request(folder: Path, sample: Sample) -> bytes:
    if sample.request_file is not None:
        return (folder / sample.request_file).read_bytes()
    return json.dumps(sample.request).encode()


def sample_target(folder: Path, sample: Sample) -> str:
    """The request path: /score, with the query string for GET samples."""
    if sample.method != "GET":
        return "/score"
    query: Any = sample.query
    if query is None and (sample.request is not None or sample.request_file is not None):
        query = json.loads(sample_request(folder, sample))
    if isinstance(query, dict):
        query = urlencode(query, doseq=True)
    return f"/score?{query}" if query else "/score"


def sample_expected(folder: Path, sample: Sample) -> Any:
    """The expected answer: JSON value, text, bytes or a regex string, as `sample.compare_as` says."""
    if sample.expected_file is not None:
        content = (folder / sample.expected_file).read_bytes()
        return {"json": lambda: json.loads(content), "text": lambda: content.decode(), "binary": lambda: content}[
            sample.compare_as
        ]()
    for name in EXPECTATIONS:
        if getattr(sample, name) is not None:
            return getattr(sample, name)
    raise AssertionError("validated samples always have an expectation")


# Content types whose bodies the kit can check on the host: a leading signature, or a text encoding.
SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
}


def sample_content_problems(folder: Path, index: int, sample: Sample) -> list[str]:
    """A request body that does not parse as its content type says (run after sample_file_problems)."""
    if sample.request_file is None or sample.method == "GET":
        return []
    field = f"samples.{index}.request_file"
    try:
        body = (folder / sample.request_file).read_bytes()
    except OSError as error:
        return [f"{field}: {sample.request_file} cannot be read ({error.strerror}); check the file"]
    content_type = sample.request_content_type().split(";")[0].strip().lower()
    if content_type == JSON_TYPE or content_type.endswith("+json"):
        try:
            json.loads(body.decode("utf-8-sig"))
        except (ValueError, RecursionError) as error:
            return [
                f"{field}: {sample.request_file} is sent as {content_type} but is not valid JSON "
                f"({str(error).splitlines()[0][:120]}); fix the file or set content_type to what it holds"
            ]
    elif content_type.startswith("text/"):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return [f"{field}: {sample.request_file} is sent as {content_type} but is not UTF-8 text; save it as UTF-8"]
    elif content_type in SIGNATURES and not body.startswith(SIGNATURES[content_type]):
        return [
            f"{field}: {sample.request_file} is sent as {content_type} but does not start like one; "
            "fix the file or content_type (application/octet-stream sends any bytes)"
        ]
    return []
