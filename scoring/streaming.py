"""Answers whose body run() produces in parts: sent chunk by chunk as Azure ML's server (Flask on Gunicorn) sends them.

The rules are Werkzeug's, which Azure ML's AMLResponse inherits: a message with a length (list, tuple, dict, set) is
joined and sent whole with a Content-Length; any other iterable (a generator, an iterator, map(), a file) is a stream,
each item sent as one HTTP/1.1 chunk as soon as it is produced (Transfer-Encoding: chunked from the WSGI server). Items
must be str (sent as UTF-8) or bytes. The stream runs after run() has returned, so SCORING_TIMEOUT_MS bounds run()
only, as on Azure ML. A stream that raises (or yields something else) after its first chunk ends without the closing
chunk and the connection closes, so the client sees a cut answer, as on Azure ML; a client that goes away closes the
generator (its `finally` runs) at the next chunk the server cannot send.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

from scoring import logs

log = logging.getLogger("scoring")
ENTITY_HEADERS = frozenset(  # Werkzeug's entity headers, less Expires and Content-Location: what a 304 drops
    ("allow", "content-encoding", "content-language", "content-length", "content-md5", "content-range",
     "content-type", "last-modified")
)  # fmt: skip


class StreamAborted(Exception):
    """A stream failed after its headers went out: the server closes the connection without the closing chunk."""


class NotIterable(TypeError):
    """An AMLResponse message that is neither text, bytes nor iterable (Azure ML's server fails on it too)."""


def forbids_body(status: int) -> bool:
    """1xx, 204 and 304 answers carry no body and no Content-Length (RFC 9110 6.4.1)."""
    return status < 200 or status in (204, 304)


def chunk_bytes(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8")
    raise TypeError(f"a streamed answer yielded {type(item).__name__}; yield str or bytes")


def resolve(body: Any, request_id: str) -> bytes | Stream:
    """The body to send: bytes (sent whole) or a Stream. Raises what the body raised before its first chunk."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, (str, bytearray, memoryview)):
        return body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if hasattr(body, "__len__"):  # Werkzeug buffers anything with a length
        try:
            return b"".join(chunk_bytes(item) for item in body)
        finally:
            close(body)
    try:
        chunks = iter(body)
    except TypeError:
        raise NotIterable(f"run() returned a response whose body is a {type(body).__name__}") from None
    return Stream(chunks, request_id, body)


def close(body: object) -> None:
    closer = getattr(body, "close", None)
    if callable(closer):
        closer()


class Stream:
    """A WSGI body that pulls run()'s chunks one at a time, with the request id on the generator's log lines.

    The first non-empty chunk is pulled before the headers go out (the server sends them with it, as Gunicorn does),
    so a generator that fails at once still gets a JSON error answer. No __len__: the server frames it as chunked.
    """

    __slots__ = ("chunks", "first", "request_id", "sent", "source")

    def __init__(self, chunks: Iterator[Any], request_id: str, source: object) -> None:
        self.chunks = chunks
        self.request_id = request_id
        self.source = source
        self.sent = 0
        self.first: bytes | None = b""
        try:
            while not self.first:
                self.first = self.pull()
        except StopIteration:
            self.first = None
        except BaseException:
            self.close()
            raise

    def pull(self) -> bytes:
        """The next chunk, pulled with the request id on the generator's log lines (the app's own is unset by now)."""
        token = logs.REQUEST_ID.set(self.request_id or None)
        try:
            return chunk_bytes(next(self.chunks))
        except StopIteration:
            raise
        except Exception as error:
            if self.first is not None:  # before the headers: the app answers a JSON error
                raise
            trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            sent, request_id = self.sent, self.request_id
            log.error("request %s: run()'s streamed answer failed after %d chunks: %s", request_id, sent, trace)
            raise StreamAborted(f"stream of request {request_id} failed") from None
        finally:
            logs.REQUEST_ID.reset(token)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self.first is not None:
            chunk, self.first = self.first, None
            self.sent += 1
            return chunk
        if self.sent == 0:  # the first pull found the end
            raise StopIteration
        chunk = self.pull()
        self.sent += 1
        return chunk

    def close(self) -> None:
        """Called by the WSGI server when the answer ends, fails or loses its client: the generator's finally runs."""
        try:
            close(self.chunks)
            if self.source is not self.chunks:
                close(self.source)
        except Exception:
            log.exception("request %s: closing run()'s streamed answer failed", self.request_id)
