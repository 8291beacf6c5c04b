"""The scoring WSGI app (Azure ML compatible routes), created in each Gunicorn worker after fork.

Routes: GET / (liveness), GET /ready (Triton readiness), POST|GET|OPTIONS /score, GET /swagger.json, GET /metrics.
"""

from __future__ import annotations

import hmac
import http.client
import json
import logging
import time
import traceback
import uuid
from collections.abc import Iterable
from typing import Any, Callable
from urllib.parse import parse_qsl

from scoring import metrics
from scoring.entry_script import EntryScript, load
from scoring.errors import classify, read_body
from scoring.responses import RawRequest, Response, encode_json
from scoring.settings import Settings
from scoring.swagger import default_document

log = logging.getLogger("scoring")
MAX_REQUEST_ID = 100
JSON = "application/json"
Reply = tuple[int, list[tuple[str, str]], bytes]


def json_reply(status: int, payload: object, headers: list[tuple[str, str]] | None = None) -> Reply:
    return status, [("Content-Type", JSON), *(headers or [])], encode_json(payload)


def message(status: int, text: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    return json_reply(status, {"message": text}, headers)


class TritonReadiness:
    """Asks Triton's /v2/health/ready on every call: orchestrators poll seldom, and a stale answer would lie."""

    def __init__(self, url: str, timeout_s: float = 2.0) -> None:
        host, _, port = url.rpartition(":")
        self.host, self.port, self.timeout_s = host or "localhost", int(port), timeout_s

    def check(self) -> tuple[bool, str]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            connection.request("GET", "/v2/health/ready")
            status = connection.getresponse().status
        except OSError as error:
            return False, f"Triton at {self.host}:{self.port} is not reachable ({error.__class__.__name__})"
        finally:
            connection.close()
        return (True, "ready") if status == 200 else (False, f"Triton is not ready (HTTP {status})")


class ScoringApp:
    def __init__(self, settings: Settings, script: EntryScript, readiness: TritonReadiness) -> None:
        self.settings = settings
        self.script = script
        self.readiness = readiness
        self.timeout = run_timeout(settings.scoring_timeout_ms)
        self.routes: dict[str, dict[str, Callable[[dict[str, Any], str], Reply]]] = {
            "/": {"GET": self.liveness},
            "/ready": {"GET": self.ready},
            "/score": {"POST": self.score, "GET": self.score, "OPTIONS": self.options},
            "/swagger.json": {"GET": self.swagger},
            "/metrics": {"GET": self.metrics},
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        path, method = environ.get("PATH_INFO") or "/", environ.get("REQUEST_METHOD", "GET")
        request_id = environ.get("HTTP_X_REQUEST_ID") or str(uuid.uuid4())
        handlers = self.routes.get(path)
        if path == "/score" and self.settings.api_key and not self.authorized(environ):
            reply = message(401, "missing or wrong API key: send Authorization: Bearer <key>",
                            [("WWW-Authenticate", "Bearer")])  # fmt: skip
        elif len(request_id) > MAX_REQUEST_ID:
            reply = message(431, f"x-request-id is longer than {MAX_REQUEST_ID} characters")
            request_id = request_id[:MAX_REQUEST_ID]
        elif handlers is None:
            reply = message(404, f"no route {path}; use /score, /, /ready, /swagger.json or /metrics")
        elif method not in handlers:
            allowed = ", ".join(handlers)
            reply = message(405, f"{method} is not allowed on {path}; use {allowed}", [("Allow", allowed)])
        else:
            reply = handlers[method](environ, request_id)
        status, headers, body = reply
        headers.append(("x-request-id", request_id))
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {http.client.responses.get(status, '')}", headers)
        metrics.observe(path if handlers else "other", method, status, time.perf_counter() - started)
        return [body]

    def authorized(self, environ: dict[str, Any]) -> bool:
        scheme, _, key = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(key.strip().encode(), self.settings.api_key.encode())

    def liveness(self, environ: dict[str, Any], request_id: str) -> Reply:
        return 200, [("Content-Type", "text/plain; charset=utf-8")], b"Healthy"

    def ready(self, environ: dict[str, Any], request_id: str) -> Reply:
        ready, reason = self.readiness.check()
        return json_reply(200, {"status": "ready"}) if ready else message(503, reason)

    def options(self, environ: dict[str, Any], request_id: str) -> Reply:
        return 200, [("Allow", "GET, POST, OPTIONS")], b""

    def swagger(self, environ: dict[str, Any], request_id: str) -> Reply:
        if self.settings.swagger_file is not None:
            return 200, [("Content-Type", JSON)], self.settings.swagger_file.read_bytes()
        return json_reply(200, default_document(self.script.path.parent.name or "scoring"))

    def metrics(self, environ: dict[str, Any], request_id: str) -> Reply:
        body, content_type = metrics.exposition()
        return 200, [("Content-Type", content_type)], body

    def score(self, environ: dict[str, Any], request_id: str) -> Reply:
        started = time.perf_counter()
        try:
            argument = self.run_argument(environ)
            with self.timeout():
                result = self.script.run(argument)
        except BaseException as error:
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            status, text = classify(error, self.settings)
            if status >= 500:
                log.error(
                    "request %s: run() failed: %s",
                    request_id,
                    "".join(traceback.format_exception(type(error), error, error.__traceback__)),
                )
            headers = [("x-ms-run-function-failed", "True")] if status == 500 else []
            return message(status, text, headers)
        elapsed_ms = f"{(time.perf_counter() - started) * 1000:.3f}"
        if isinstance(result, Response):
            headers = [("Content-Type", result.content_type), *result.headers.items()]
            return result.status, [*headers, ("x-ms-run-fn-exec-ms", elapsed_ms)], result.encoded()
        return 200, [("Content-Type", JSON), ("x-ms-run-fn-exec-ms", elapsed_ms)], encode_json(result)

    def run_argument(self, environ: dict[str, Any]) -> object:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "POST" and not self.script.wants_raw_request:  # the common case: no query string to parse
            return read_body(environ, self.settings.max_request_bytes).decode("utf-8")
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        if self.script.wants_raw_request:
            return RawRequest(
                method=method,
                path=environ.get("PATH_INFO", "/score"),
                headers=request_headers(environ),
                args=query,
                data=read_body(environ, self.settings.max_request_bytes) if method == "POST" else b"",
            )
        return json.dumps(query)


def request_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):  # WSGI keeps these two without the HTTP_ prefix
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


class _NoTimeout:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None


def run_timeout(timeout_ms: int) -> Callable[[], Any]:
    """A context manager factory bounding run(); gevent can interrupt run() whenever it waits on I/O (Triton)."""
    from scoring.errors import ScoringTimeout
    from scoring.triton import gevent_patched

    if not gevent_patched():
        return _NoTimeout
    import gevent

    return lambda: gevent.Timeout(timeout_ms / 1000.0, ScoringTimeout(timeout_ms))


def create_app(settings: Settings | None = None) -> ScoringApp:
    """Gunicorn's app factory (`scoring.app:create_app()`): loads the entry script and runs init() in this worker."""
    settings = settings or Settings.from_env()
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    script = load(settings.entry_script)
    if script.init is not None:
        log.info("running init() of %s", settings.entry_script)
        script.init()
    return ScoringApp(settings, script, TritonReadiness(settings.triton_url))
