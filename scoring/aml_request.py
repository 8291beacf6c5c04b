"""The request a @rawhttp run() receives: the parts of Flask's Request that Azure ML entry scripts use, built lazily.

Nothing is parsed until a script asks for it: headers, query arguments, the body, JSON and multipart forms.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, quote

from scoring.errors import read_body


class MultiDict(Mapping[str, Any]):
    """Werkzeug's MultiDict as scripts use it: `[key]`/`get` give the first value, `getlist` all of them."""

    def __init__(self, pairs: list[tuple[str, Any]] | None = None) -> None:
        self._lists: dict[str, list[Any]] = {}
        for key, value in pairs or ():
            self._lists.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> Any:
        return self._lists[key][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._lists)

    def __len__(self) -> int:
        return len(self._lists)

    def get(self, key: str, default: Any = None, type: Callable[[Any], Any] | None = None) -> Any:
        if key not in self._lists:
            return default
        value = self._lists[key][0]
        if type is None:
            return value
        try:
            return type(value)
        except (ValueError, TypeError):
            return default

    def getlist(self, key: str, type: Callable[[Any], Any] | None = None) -> list[Any]:
        values = self._lists.get(key, [])
        return [type(value) for value in values] if type else list(values)

    def items(self, multi: bool = False) -> Any:  # type: ignore[override]
        if multi:
            return [(key, value) for key, values in self._lists.items() for value in values]
        return [(key, values[0]) for key, values in self._lists.items()]

    def to_dict(self, flat: bool = True) -> dict[str, Any]:
        return {key: values[0] if flat else list(values) for key, values in self._lists.items()}

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.items(multi=True)!r})"


class Headers(Mapping[str, str]):
    """Case-insensitive request headers, named as Werkzeug names them (Content-Type, X-Request-Id)."""

    def __init__(self, environ: Mapping[str, Any]) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                name = key[5:]
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                name = key
            else:
                continue
            title = name.replace("_", "-").title()
            self._items[title.lower()] = (title, value)

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (title for title, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def getlist(self, key: str) -> list[str]:
        return [self[key]] if key in self else []


class FileStorage:
    """An uploaded file of a multipart form (Werkzeug's FileStorage: filename, content_type, read, save)."""

    def __init__(self, name: str, filename: str, content_type: str, data: bytes) -> None:
        self.name, self.filename, self.content_type, self._data = name, filename, content_type, data
        self._position = 0

    @property
    def mimetype(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else self._position + size
        chunk = self._data[self._position : end]
        self._position += len(chunk)
        return chunk

    @property
    def stream(self) -> FileStorage:
        return self

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: len(self._data)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def save(self, destination: Any) -> None:
        if hasattr(destination, "write"):
            destination.write(self._data)
            return
        with open(destination, "wb") as handle:
            handle.write(self._data)

    def __repr__(self) -> str:
        return f"<FileStorage: {self.filename!r} ({self.content_type!r})>"


class AMLRequest:
    """What Azure ML's AMLRequest (a Flask Request) offers entry scripts, over the WSGI environ of this request."""

    def __init__(self, environ: dict[str, Any], max_body_bytes: int) -> None:
        self.environ = environ
        self._max_body_bytes = max_body_bytes
        self._data: bytes | None = None
        self._headers: Headers | None = None
        self._args: MultiDict | None = None
        self._form: tuple[MultiDict, MultiDict] | None = None

    @property
    def method(self) -> str:
        return self.environ.get("REQUEST_METHOD", "GET")

    @property
    def path(self) -> str:
        return self.environ.get("PATH_INFO") or "/"

    @property
    def query_string(self) -> bytes:
        return self.environ.get("QUERY_STRING", "").encode("latin-1")

    @property
    def full_path(self) -> str:
        return f"{quote(self.path)}?{self.environ.get('QUERY_STRING', '')}"

    @property
    def host(self) -> str:
        return self.environ.get("HTTP_HOST") or f"{self.environ.get('SERVER_NAME')}:{self.environ.get('SERVER_PORT')}"

    @property
    def scheme(self) -> str:
        return self.environ.get("wsgi.url_scheme", "http")

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}{quote(self.path)}"

    @property
    def url(self) -> str:
        query = self.environ.get("QUERY_STRING", "")
        return f"{self.base_url}?{query}" if query else self.base_url

    @property
    def remote_addr(self) -> str | None:
        return self.environ.get("REMOTE_ADDR")

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(self.environ)
        return self._headers

    @property
    def args(self) -> MultiDict:
        if self._args is None:
            self._args = MultiDict(parse_qsl(self.environ.get("QUERY_STRING", ""), keep_blank_values=True))
        return self._args

    @property
    def content_type(self) -> str | None:
        return self.environ.get("CONTENT_TYPE") or None

    @property
    def mimetype(self) -> str:
        return (self.content_type or "").split(";")[0].strip().lower()

    @property
    def content_length(self) -> int | None:
        raw = self.environ.get("CONTENT_LENGTH")
        return int(raw) if raw and raw.isdigit() else None

    @property
    def is_json(self) -> bool:
        mimetype = self.mimetype
        return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False) -> bytes | str:
        if self._data is None:
            self._data = read_body(self.environ, self._max_body_bytes)
        return self._data.decode("utf-8", "replace") if as_text else self._data

    @property
    def data(self) -> bytes:
        return self.get_data()  # type: ignore[return-value]

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if not (force or self.is_json):
            if silent:
                return None
            raise ValueError("Did not attempt to load JSON data because the request Content-Type was not JSON")
        try:
            return json.loads(self.data)
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self) -> Any:
        return self.get_json()

    @property
    def form(self) -> MultiDict:
        return self._parse_form()[0]

    @property
    def files(self) -> MultiDict:
        return self._parse_form()[1]

    @property
    def values(self) -> MultiDict:
        return MultiDict([*self.args.items(multi=True), *self.form.items(multi=True)])

    def _parse_form(self) -> tuple[MultiDict, MultiDict]:
        if self._form is None:
            if self.mimetype == "application/x-www-form-urlencoded":
                self._form = MultiDict(parse_qsl(self.data.decode("latin-1"), keep_blank_values=True)), MultiDict()
            elif self.mimetype == "multipart/form-data":
                self._form = parse_multipart(self.content_type or "", self.data)
            else:
                self._form = MultiDict(), MultiDict()
        return self._form

    def __repr__(self) -> str:
        return f"<AMLRequest {self.url!r} [{self.method}]>"


def parse_multipart(content_type: str, body: bytes) -> tuple[MultiDict, MultiDict]:
    """Fields and files of a multipart/form-data body (the stdlib email parser does the MIME work)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    fields: list[tuple[str, Any]] = []
    files: list[tuple[str, Any]] = []
    if not message.is_multipart():
        return MultiDict(), MultiDict()
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            fields.append((name, payload.decode(part.get_content_charset() or "utf-8", "replace")))
        else:
            files.append((name, FileStorage(name, filename, part.get_content_type(), payload)))
    return MultiDict(fields), MultiDict(files)
