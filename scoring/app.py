"""The scoring WSGI app (Azure ML compatible routes), created in each Gunicorn worker after fork.

Routes: GET / (liveness), GET /ready (Triton readiness), POST|GET|OPTIONS /score, GET /swagger.json, GET /metrics.
Status codes, error bodies and headers follow Azure ML's server (azureml-inference-server-http);
docs/azureml-differences.md lists where they deliberately differ. A body run() produces in parts is streamed
(scoring/streaming.py, docs/streaming.md).
"""

from __future__ import annotations

import hmac
import http.client
import inspect
import json
import logging
import os
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from scoring import drain, logs, metrics, triton_metrics
from scoring.aml_request import AMLRequest, Headers
from scoring.deadline import RunDeadline
from scoring.entry_script import RAW, SCHEMA, TEXT, EntryScript, load
from scoring.errors import INTERNAL_ERROR, InputError, classify, read_body
from scoring.readiness import TritonReadiness
from scoring.responses import HTML, Response, encode_json
from scoring.settings import Settings
from scoring.streaming import ENTITY_HEADERS, NotIterable, Stream, forbids_body, resolve
from scoring.streaming import close as close_body
from scoring.swagger import default_document
from scoring.triton import gevent_patched

log = logging.getLogger("scoring")
MAX_REQUEST_ID = 100
JSON = "application/json"
Reply = tuple[int, list[tuple[str, str]], bytes | Stream]


def json_reply(status: int, payload: object, headers: list[tuple[str, str]] | None = None) -> Reply:
    return status, [("Content-Type", JSON), *(headers or [])], encode_json(payload)


def message(
    status: int, text: str, headers: list[tuple[str, str]] | None = None, run_failed: bool | None = None
) -> Reply:
    """Azure ML's error body; its error answers carry x-ms-run-function-failed (True only when run() failed)."""
    flag = [] if run_failed is None else [run_flag(run_failed)]
    return status, [("Content-Type", JSON), *flag, *(headers or [])], json.dumps({"message": text}).encode()


class ScoringApp:
    def __init__(self, settings: Settings, script: EntryScript, readiness: TritonReadiness) -> None:
        self.settings = settings
        self.script = script
        self.readiness = readiness
        threaded = settings.worker_class == "gthread"  # run() off the main thread: the alarm cannot reach it
        self.deadline = RunDeadline(settings.scoring_timeout_ms, gevent_patched(), threaded)
        self.swagger_document = swagger_bytes(settings, script)
        self.drain_flag = os.environ.get(drain.ENV)
        self.routes: dict[str, dict[str, Callable[[dict[str, Any], str], Reply]]] = {
            "/": {"GET": self.liveness},
            "/ready": {"GET": self.ready},
            "/score": {"POST": self.score, "GET": self.score, "OPTIONS": self.score},
            "/swagger.json": {"GET": self.swagger},
            "/metrics": {"GET": self.metrics},
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        path, method = environ.get("PATH_INFO") or "/", environ.get("REQUEST_METHOD", "GET")
        handlers = self.routes.get(path)
        echoes: list[tuple[str, str]] = []
        if handlers is None:  # Azure ML answers routing errors before it reads any request id
            reply = message(404, f"no route {path}; use /score, /, /ready, /swagger.json or /metrics", run_failed=False)
        elif method not in handlers and not (method == "HEAD" and "GET" in handlers):
            allowed = ", ".join(handlers)
            text = f"{method} is not allowed on {path}; use {allowed}"
            reply = message(405, text, [("Allow", allowed)], run_failed=False)
        else:
            request_id, echoes, refused = correlation(environ)
            logs.REQUEST_ID.set(request_id or None)  # per greenlet/thread: JSON log lines carry it
            if self.settings.server_version:
                echoes.append(("x-ms-server-version", self.settings.server_version))
            if refused is not None:
                reply = refused
            elif path == "/score" and self.settings.api_key and not self.authorized(environ):
                text = "missing or wrong API key: send Authorization: Bearer <key>"
                reply = message(401, text, [("WWW-Authenticate", "Bearer")])
            else:
                reply = handlers.get(method, self.head if path == "/score" else handlers["GET"])(environ, request_id)
        status, headers, body = reply
        headers.extend(echoes)
        streamed = isinstance(body, Stream)
        if not streamed and not forbids_body(status):  # a Stream goes without a length: the server chunks it
            headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {http.client.responses.get(status, '')}", headers)
        metrics.observe(path if handlers else "other", method, status, time.perf_counter() - started)
        logs.REQUEST_ID.set(None)  # this greenlet or thread may serve another request next
        if streamed:
            return body  # type: ignore[return-value]
        return [body] if method != "HEAD" else [b""]  # gevent's pywsgi would send a HEAD answer's body

    def authorized(self, environ: dict[str, Any]) -> bool:
        scheme, _, key = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(key.strip().encode(), self.settings.api_key.encode())

    def liveness(self, environ: dict[str, Any], request_id: str) -> Reply:
        return 200, [("Content-Type", HTML)], b"Healthy"

    def head(self, environ: dict[str, Any], request_id: str) -> Reply:
        """HEAD /score: routed (like GET) but not a scoring method, as on Azure ML; other GET routes answer HEAD."""
        return message(405, "Method not allowed", run_failed=False)

    def ready(self, environ: dict[str, Any], request_id: str) -> Reply:
        if drain.draining(self.drain_flag):
            return message(503, "the container is stopping: finishing in-flight requests")
        ready, reason = self.readiness.check()
        return json_reply(200, {"status": "ready"}) if ready else message(503, reason)

    def swagger(self, environ: dict[str, Any], request_id: str) -> Reply:
        return 200, [("Content-Type", JSON), RUN_OK], self.swagger_document

    def metrics(self, environ: dict[str, Any], request_id: str) -> Reply:
        body, content_type = metrics.exposition()
        return 200, [("Content-Type", content_type)], body + triton_metrics.scrape(self.settings)

    def score(self, environ: dict[str, Any], request_id: str) -> Reply:
        try:
            arguments = self.run_arguments(environ)
            if arguments is None:  # OPTIONS to a script that does not take the raw request
                return 200, [("Content-Type", HTML), RUN_OK, ("Allow", "GET, POST, OPTIONS")], b""
            started = time.perf_counter()
            with self.deadline():
                result = self.script.run(**arguments)
            elapsed_ms = f"{(time.perf_counter() - started) * 1000:.3f}"
        except BaseException as error:
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            return self.failed(error, request_id)
        if isinstance(result, Response):
            return self.response(result, elapsed_ms, request_id)
        try:
            body = encode_json(result) if result is not None else b"{}"  # Azure ML answers {} for None
        except TypeError as error:
            log.error("request %s: run() returned a %s that is not JSON: %s", request_id, type(result).__name__, error)
            return message(500, INTERNAL_ERROR, run_failed=False)
        return 200, [("Content-Type", JSON), RUN_OK, ("x-ms-run-fn-exec-ms", elapsed_ms)], body

    def response(self, result: Response, elapsed_ms: str, request_id: str) -> Reply:
        """run()'s own answer: its status and headers, its body whole, streamed, or (1xx, 204, 304) none."""
        status, headers = result.status, result.header_items()
        if status >= 500:
            headers = [item for item in headers if item[0].lower() != "x-ms-run-function-failed"]
            headers.append(run_flag(True))
        headers.append(("x-ms-run-fn-exec-ms", elapsed_ms))
        if forbids_body(status):  # what Werkzeug sends: no body, no length, and a 304 without entity headers
            close_body(result.body)  # a generator never started: nothing runs
            if status == 304:
                headers = [item for item in headers if item[0].lower() not in ENTITY_HEADERS]
            return status, headers, b""
        try:
            body = resolve(result.body, request_id)
        except NotIterable as error:
            log.error("request %s: %s, which is not text, bytes or iterable", request_id, error)
            return message(500, INTERNAL_ERROR, run_failed=False)
        except Exception as error:  # the streamed answer failed before its first chunk: nothing was sent yet
            return self.failed(error, request_id)
        return status, headers, body

    def failed(self, error: BaseException, request_id: str) -> Reply:
        status, text = classify(error, self.settings)
        run_failed = status == 500
        if status >= 500:
            trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            log.error("request %s: run() failed: %s", request_id, trace)
            if self.settings.debug_errors:
                return json_reply(status, {"message": text, "traceback": trace}, [run_flag(run_failed)])
        return message(status, text, run_failed=run_failed)

    def run_arguments(self, environ: dict[str, Any]) -> dict[str, Any] | None:
        """run()'s keyword arguments, parsed as Azure ML parses them for this kind of run()."""
        script, method = self.script, environ.get("REQUEST_METHOD", "GET")
        if script.mode == RAW:  # built lazily: nothing is parsed until the script asks
            arguments: dict[str, Any] = {script.parameters[0][0]: AMLRequest(environ, self.settings.max_request_bytes)}
        elif method == "OPTIONS":
            return None
        elif script.mode == TEXT:
            if method == "POST":
                data = read_body(environ, self.settings.max_request_bytes).decode("utf-8")
            else:
                data = json.dumps(query_arguments(environ))
            arguments = {script.parameters[0][0]: data}
        else:
            arguments = schema_arguments(script, environ, method, self.settings.max_request_bytes)
        if script.wants_headers:
            arguments["request_headers"] = dict(Headers(environ))
        return arguments


RUN_OK = ("x-ms-run-function-failed", "False")


def run_flag(failed: bool) -> tuple[str, str]:
    return ("x-ms-run-function-failed", "True" if failed else "False")


def correlation(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], Reply | None]:
    """Azure ML's request id echoes: x-request-id, x-ms-request-id, x-ms-client-request-id and TraceId."""
    request_id = environ.get("HTTP_X_REQUEST_ID")
    if request_id is None:
        request_id = str(uuid.uuid4())
    elif len(request_id) > MAX_REQUEST_ID:
        return "", [], message(431, f"x-request-id must not exceed {MAX_REQUEST_ID} characters", run_failed=False)
    legacy = environ.get("HTTP_X_MS_REQUEST_ID", "")
    client = environ.get("HTTP_X_MS_CLIENT_REQUEST_ID", "")
    if legacy:
        client = client or legacy
    else:
        legacy = client or request_id
    echoes = [("x-request-id", request_id)] if request_id else []
    if len(legacy) > MAX_REQUEST_ID or len(client) > MAX_REQUEST_ID:
        text = f"x-ms-request-id and x-ms-client-request-id must not exceed {MAX_REQUEST_ID} characters"
        return request_id, echoes, message(431, text, run_failed=False)
    if legacy:
        echoes.append(("x-ms-request-id", legacy))
    if client:
        echoes.append(("x-ms-client-request-id", client))
    trace = environ.get("HTTP_TRACEID")
    if trace is not None:
        echoes.append(("TraceId", trace))
    return request_id, echoes, None


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def query_arguments(environ: dict[str, Any]) -> dict[str, Any]:
    """Azure ML's GET decoding: each value parsed as JSON when it is JSON; a repeated key becomes a list."""
    values: dict[str, list[str]] = {}
    for key, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        values.setdefault(key, []).append(value)
    return {key: parse_value(v[0]) if len(v) == 1 else [parse_value(x) for x in v] for key, v in values.items()}


def schema_arguments(script: EntryScript, environ: dict[str, Any], method: str, limit: int) -> dict[str, Any]:
    """The @input_schema run(): its parameters taken from a JSON object body (or the query string of a GET)."""
    if method == "GET":
        body: Any = query_arguments(environ)
    else:
        content_type = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if content_type != JSON and not (content_type.startswith("application/") and content_type.endswith("+json")):
            raise InputError(415, "Expects Content-Type to be application/json")
        raw = read_body(environ, limit)
        try:
            body = json.loads(raw)
        except ValueError as error:
            if not raw:
                raise InputError(400, "POST body is empty. Expecting a JSON dictionary.") from None
            raise InputError(400, f"POST body could not be decoded as JSON: {error}") from None
        if not isinstance(body, dict):
            raise InputError(400, "POST body should be a JSON dictionary.")
    arguments = {}
    for name, default in script.parameters:
        value = body.get(name, default)
        if value is inspect.Parameter.empty:
            raise InputError(400, f"A value is not provided for the {name!r} parameter.")
        arguments[name] = value
    return arguments


def swagger_bytes(settings: Settings, script: EntryScript) -> bytes:
    if settings.swagger_file is not None:
        return settings.swagger_file.read_bytes()
    return encode_json(default_document(script.path.parent.name or "scoring", *service_schemas(script)))


def service_schemas(script: EntryScript) -> tuple[Any, Any]:
    """inference_schema's input and output schemas of run(), as Azure ML puts them in its swagger document."""
    empty = {"type": "object", "example": {}}
    if script.mode != SCHEMA:
        return empty, empty
    from inference_schema.schema_util import get_input_schema, get_output_schema

    return get_input_schema(script.run) or empty, get_output_schema(script.run) or empty


def create_app(settings: Settings | None = None) -> ScoringApp:
    """Gunicorn's app factory (`scoring.app:create_app()`): loads the entry script and runs init() in this worker."""
    settings = settings or Settings.from_env()
    logs.configure(settings.log_format)
    script = load(settings.entry_script)
    log.info("running init() of %s", settings.entry_script)
    script.init()
    return ScoringApp(settings, script, TritonReadiness(settings.triton_url))
