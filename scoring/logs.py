"""Log lines as text (default) or JSON lines (LOG_FORMAT=json) carrying the request id of the request being handled.

The id lives in a context variable set by the app for each request; gevent greenlets and gthread threads each have
their own context, so concurrent requests never see each other's id.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import time
from typing import IO

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"


def timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, pid, request_id, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "request_id": REQUEST_ID.get(),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_line(logger: str, message: str, level: str = "INFO", pid: int | None = None) -> str:
    """A JSON log line for processes that print rather than log (the supervisor, Triton)."""
    return json.dumps(
        {
            "time": timestamp(time.time()),
            "level": level,
            "logger": logger,
            "pid": os.getpid() if pid is None else pid,
            "request_id": REQUEST_ID.get(),
            "message": message,
        },
        ensure_ascii=False,
    )


def configure(log_format: str) -> None:
    """Text: the app's own lines on stderr, as before. JSON: every logger (the app's, the entry script's) as JSON
    lines on stderr, through the root logger."""
    if log_format == "json":
        root = logging.getLogger()
        if not any(isinstance(handler.formatter, JsonFormatter) for handler in root.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(JsonFormatter())
            root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.INFO:
            root.setLevel(logging.INFO)
        logging.getLogger("scoring").setLevel(logging.INFO)
        return
    log = logging.getLogger("scoring")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def use_json_for(logger: logging.Logger) -> None:
    """Switch a logger's existing handlers (Gunicorn's error log) to JSON lines, keeping their streams."""
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())


TRITON_LEVELS = {"I": "INFO", "W": "WARNING", "E": "ERROR", "F": "CRITICAL"}


def as_json_line(source: str, line: str, pid: int | None = None) -> str:
    """A child's output line as JSON: JSON lines pass unchanged, others are wrapped (Triton's I/W/E prefix kept as
    the level)."""
    if line.startswith("{"):
        try:
            json.loads(line)
            return line
        except ValueError:
            pass
    level = TRITON_LEVELS.get(line[:1], "INFO") if source == "tritonserver" and line[1:2].isdigit() else "INFO"
    return json_line(source, line, level, pid)


def relay_as_json(stream: IO[bytes], source: str, pid: int) -> None:
    """Copy a child's output to stderr as JSON lines until the child closes it (runs in a thread)."""
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if line:
            sys.stderr.write(as_json_line(source, line, pid) + "\n")
            sys.stderr.flush()
