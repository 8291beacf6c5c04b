"""Every runtime setting, declared once: its environment variable, type, default and meaning.

The scoring runtime parses its environment from this table (Settings.from_env), the host side reads its defaults
from it (templates, manifests, the smoke test, `make run`) and validates image.yaml's `environment:` against it
before any build, and docs/settings.md is generated from it (`python -m scoring.settings > docs/settings.md`; a
test fails when they differ). Azure ML's names are used where they exist. Imports nothing heavy: the host imports it.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from scoring import triton_options


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Declared:
    """One setting: `kind` is int, text, choice, flag (0/1), words (shell-split) or micros (whole microseconds or
    off)."""

    env: str
    field: str
    kind: str
    default: Any
    meaning: str
    minimum: int = 0
    choices: tuple[str, ...] = ()

    def parse(self, env: Mapping[str, str]) -> Any:
        raw = str(env.get(self.env, "")).strip()
        if self.kind == "text":
            return raw or self.default
        if self.kind == "words":
            return tuple(shlex.split(raw))
        if self.kind in ("choice", "flag"):
            value = raw or str(self.default)
            choices = self.choices or ("0", "1")
            if value not in choices:
                raise SettingsError(f"{self.env}={value!r} is not one of {', '.join(choices)}")
            return value == "1" if self.kind == "flag" else value
        if self.kind == "micros" and raw.lower() in ("off", "false", "no", "none"):
            return None
        if not raw:
            return self.default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{self.env}={raw!r} is not an integer; set it to a whole number or unset it") from None
        if value < self.minimum:
            raise SettingsError(f"{self.env}={value} must be >= {self.minimum}")
        return value


def _int(env: str, field: str, default: int, meaning: str, minimum: int = 1) -> Declared:
    return Declared(env, field, "int", default, meaning, minimum=minimum)


DECLARED: tuple[Declared, ...] = (
    # Where things are (Azure ML's names).
    Declared("AML_APP_ROOT", "app_root", "text", "",
         "folder of the entry script, its modules and an optional swagger.json (default: the working dir)"),
    Declared("AZUREML_ENTRY_SCRIPT", "entry_script", "text", "score.py", "entry script, relative to AML_APP_ROOT"),
    Declared("AZUREML_MODEL_DIR", "model_dir", "text", "",
         "registered model folder(s), as Azure ML sets it; AML_APP_ROOT when empty"),
    Declared("TRITON_MODEL_REPOSITORY", "triton_model_repository", "text", "triton",
             "Triton's model repository; a relative path lies under AZUREML_MODEL_DIR"),
    # The scoring port.
    Declared("SERVER_HOST", "server_host", "text", "0.0.0.0", "address the scoring app listens on"),
    _int("SERVER_PORT", "server_port", 5001, "the scoring port (Azure ML's)"),
    Declared("SCORING_UNIX_SOCKET", "unix_socket", "text", "",
         "also serve on this unix socket (mode 0666), e.g. in a folder mounted for a network_mode=none "
         "container"),
    Declared("SCORING_API_KEY", "api_key", "text", "", "when set, /score requires Authorization: Bearer <key>"),
    # Workers.
    _int("WORKER_COUNT", "worker_count", 1,
         "Gunicorn workers (one gevent worker keeps many requests in flight to Triton)"),
    Declared("WORKER_CLASS", "worker_class", "choice", "gevent_llhttp",
             "Gunicorn worker class: gevent_llhttp (the compiled llhttp layer, docs/benchmarks.md), gevent_pywsgi",
             choices=("gevent_llhttp", "gevent_pywsgi", "gevent", "gthread", "sync")),
    _int("WORKER_CONNECTIONS", "worker_connections", 10_000, "connections per gevent worker"),
    _int("WORKER_THREADS", "worker_threads", 32, "threads per gthread worker"),
    _int("WORKER_TIMEOUT", "worker_timeout_s", 300, "seconds before a stuck worker is killed"),
    _int("GRACEFUL_TIMEOUT", "graceful_timeout_s", 8, "seconds Gunicorn drains on SIGTERM"),
    _int("DRAIN_DELAY", "drain_delay_s", 0,
         "seconds between SIGTERM (readiness turns 503 at once) and Gunicorn's drain", minimum=0),
    _int("WORKER_MEMORY_LIMIT_MB", "worker_memory_limit_mb", 0,
         "per-worker memory cap; 0: half the container's memory limit split between workers (none without a "
         "limit)",
         minimum=0),
    # Requests.
    _int("SCORING_TIMEOUT_MS", "scoring_timeout_ms", 60_000, "bound on one run(): 500 Scoring timeout after N ms"),
    _int("MAX_REQUEST_BYTES", "max_request_bytes", 100 * 2**20, "largest accepted body (413 above)"),
    Declared("SCORING_DEBUG_ERRORS", "debug_errors", "flag", "0", "1: exception text and traceback in 500 answers"),
    # Hostile-client protections of the scoring port (docs/hostile-clients.md).
    _int("CLIENT_HEADER_TIMEOUT", "client_header_timeout_s", 10,
         "seconds for a request line and headers to arrive (else 408, close)"),
    _int("CLIENT_BODY_TIMEOUT", "client_body_timeout_s", 20,
         "seconds for a body to arrive, plus its size at CLIENT_BODY_MIN_RATE (else 408, close)"),
    _int("CLIENT_BODY_MIN_RATE", "client_body_min_rate", 64 * 1024, "slowest body rate allowed, bytes per second"),
    _int("KEEPALIVE_TIMEOUT", "keepalive_timeout_s", 20, "seconds an idle keep-alive connection stays open"),
    _int("MAX_REQUEST_LINE_BYTES", "max_request_line_bytes", 8192, "longest request line (else 414)", minimum=64),
    _int("MAX_HEADER_BYTES", "max_header_bytes", 32 * 1024, "request header size (else 431)", minimum=1024),
    _int("MAX_HEADER_COUNT", "max_header_count", 100, "request header count (else 431)", minimum=8),
    # Triton inside the image.
    Declared("TRITON_RELEASE", "triton_release", "choice", triton_options.newest(),
             "Triton release of the base (set by the image): picks its option table",
             choices=tuple(triton_options.releases())),
    _int("TRITON_HTTP_PORT", "triton_http_port", 8000, "Triton's HTTP port inside the container"),
    _int("TRITON_METRICS_PORT", "triton_metrics_port", 8002, "Triton's metrics port (re-exported on /metrics)"),
    Declared("TRITON_URL", "triton_url", "text", "", "Triton's address; 127.0.0.1:TRITON_HTTP_PORT when empty"),
    Declared("TRITON_ARGS", "triton_args", "words", (), "extra tritonserver options (checked against its release)"),
    Declared("TRITON_LOCALHOST_ONLY", "triton_localhost_only", "flag", "1",
             "1: Triton's ports stay on loopback where its release can bind there"),
    _int("TRITON_READY_TIMEOUT", "triton_ready_timeout_s", 300, "seconds Triton may take to load its models"),
    _int("TRITON_CONNECTIONS", "triton_connections", 64, "connections of the shared Triton client per worker"),
    Declared("TRITON_COALESCE_US", "triton_coalesce_us", "micros", 0,

                  "under gevent, the most a call for a batching model waits to be joined with concurrent ones into one "
                  "Triton request (0: the calls of one event-loop turn; off: never)"),
    _int("TRITON_COALESCE_STRAIGHT", "triton_coalesce_straight", 2,
         "requests per model sent straight through before calls are joined (keeps light load unchanged)"),
    # Logs.
    Declared("LOG_FORMAT", "log_format", "choice", "text",
         "json: every log line a JSON object (time, level, logger, pid, request_id, message)",
             choices=("text", "json")),
    Declared("LOG_LEVEL", "log_level", "choice", "info", "Gunicorn's log level",
             choices=("debug", "info", "warning", "error", "critical")),
    Declared("SERVER_VERSION_LOG_RESPONSE_ENABLED", "server_version_enabled", "choice", "true",
             "send x-ms-server-version (Azure ML's switch)", choices=("true", "false")),
    Declared("HTTP_X_MS_SERVER_VERSION", "server_version_text", "text", "", "the x-ms-server-version value"),
)  # fmt: skip
BY_ENV = {declared.env: declared for declared in DECLARED}
RUNTIME_VERSION = "triton-kit-scoring/1"


def default(env_name: str) -> Any:
    """A setting's declared default (the host side reads ports and timeouts here)."""
    return BY_ENV[env_name].default


def defaults() -> dict[str, Any]:
    return {name: declared.default for name, declared in BY_ENV.items()}


def value(env_name: str, env: Mapping[str, str] | None = None) -> Any:
    """One setting, parsed from `env` (the process environment by default)."""
    return BY_ENV[env_name].parse(os.environ if env is None else env)


def problems(environment: Mapping[str, Any]) -> list[str]:
    """What is wrong with these values of declared settings (for image.yaml's `environment:` before a build)."""
    found = []
    for name, raw in environment.items():
        if name in BY_ENV:
            try:
                BY_ENV[name].parse({name: str(raw)})
            except SettingsError as error:
                found.append(str(error))
    return found


def server_version(env: Mapping[str, str]) -> str:
    """x-ms-server-version, on by default as Azure ML's server has it (which sends azmlinfsrv/<its version>)."""
    if value("SERVER_VERSION_LOG_RESPONSE_ENABLED", env) != "true":
        return ""
    return value("HTTP_X_MS_SERVER_VERSION", env) or RUNTIME_VERSION


@dataclass(frozen=True)
class Settings:
    """The parsed settings; field names follow DECLARED, with paths resolved and derived values filled in."""

    app_root: Path
    entry_script: Path
    model_dir: Path
    triton_model_repository: Path
    server_host: str
    server_port: int
    unix_socket: str
    api_key: str
    worker_count: int
    worker_class: str
    worker_connections: int
    worker_threads: int
    worker_timeout_s: int
    graceful_timeout_s: int
    drain_delay_s: int
    worker_memory_limit_mb: int
    scoring_timeout_ms: int
    max_request_bytes: int
    debug_errors: bool
    client_header_timeout_s: int
    client_body_timeout_s: int
    client_body_min_rate: int
    keepalive_timeout_s: int
    max_request_line_bytes: int
    max_header_bytes: int
    max_header_count: int
    triton_release: str
    triton_http_port: int
    triton_metrics_port: int
    triton_url: str
    triton_args: tuple[str, ...]
    triton_localhost_only: bool
    triton_ready_timeout_s: int
    triton_connections: int
    triton_coalesce_us: int | None
    triton_coalesce_straight: int
    log_format: str
    log_level: str
    # Sent as x-ms-server-version ("" when switched off).
    server_version: str
    swagger_file: Path | None

    def __repr__(self) -> str:  # the API key never reaches a log
        return f"Settings(server_port={self.server_port}, worker_count={self.worker_count}, ...)"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        parsed = {declared.field: declared.parse(env) for declared in BY_ENV.values()}
        app_root = Path(parsed["app_root"] or os.getcwd())
        model_dir = Path(parsed["model_dir"]) if parsed["model_dir"] else app_root
        swagger = app_root / "swagger.json"
        parsed.update(
            app_root=app_root,
            entry_script=app_root / parsed["entry_script"],
            model_dir=model_dir,
            # A relative repository lies under AZUREML_MODEL_DIR, so it follows the directory the platform sets.
            triton_model_repository=model_dir / parsed["triton_model_repository"],
            triton_url=parsed["triton_url"] or f"127.0.0.1:{parsed['triton_http_port']}",
            server_version=server_version(env),
            swagger_file=swagger if swagger.is_file() else None,
        )
        names = {item.name for item in fields(cls)}
        return cls(**{name: item for name, item in parsed.items() if name in names})


def markdown_table() -> str:
    """docs/settings.md: the settings reference, generated from DECLARED."""
    lines = [
        "# Settings (environment variables)",
        "",
        "Generated from `scoring/settings.py` by `python -m scoring.settings > docs/settings.md`; do not edit by hand.",
        "Set them in image.yaml's `environment:` (checked before any build), in a deployment, or with `docker run -e`.",
        "",
        "| variable | type | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for declared in DECLARED:
        kind = {"choice": " \\| ".join(declared.choices), "flag": "0 \\| 1"}.get(declared.kind, declared.kind)
        shown = declared.default if declared.default not in ("", ()) else "(empty)"
        lines.append(f"| `{declared.env}` | {kind} | `{shown}` | {declared.meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
