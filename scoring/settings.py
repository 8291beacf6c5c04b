"""Runtime settings from the environment (Azure ML names where they exist); bad values fail with the variable's name."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scoring import triton_options


class SettingsError(ValueError):
    pass


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer; set it to a whole number or unset it") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be >= {minimum}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip() or default
    if value not in choices:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


RUNTIME_VERSION = "triton-kit-scoring/1"
WORKER_CLASSES = ("gevent_llhttp", "gevent_pywsgi", "gevent", "gthread", "sync")  # issue-24: gevent_llhttp added


def server_version(env: Mapping[str, str]) -> str:
    """x-ms-server-version, on by default as Azure ML's server has it (which sends azmlinfsrv/<its version>)."""
    if env.get("SERVER_VERSION_LOG_RESPONSE_ENABLED", "true").strip().lower() != "true":
        return ""
    return env.get("HTTP_X_MS_SERVER_VERSION") or RUNTIME_VERSION


@dataclass(frozen=True)
class Settings:
    app_root: Path
    entry_script: Path
    model_dir: Path
    server_host: str
    server_port: int
    worker_count: int
    worker_class: str
    worker_connections: int
    worker_threads: int
    worker_timeout_s: int
    graceful_timeout_s: int
    scoring_timeout_ms: int
    max_request_bytes: int
    triton_url: str
    triton_http_port: int
    triton_model_repository: Path
    triton_args: tuple[str, ...]
    # The Triton release the base carries (TRITON_RELEASE, set by the image): picks its option table.
    triton_release: str
    triton_ready_timeout_s: int
    triton_connections: int
    swagger_file: Path | None
    # Bearer key required on /score when set (liveness, readiness and metrics stay open).
    api_key: str = field(default="", repr=False)
    # Bind Triton's HTTP, gRPC and metrics ports to 127.0.0.1 so only the scoring port is reachable from outside.
    triton_localhost_only: bool = True
    # Exception type, text and traceback in 500 answers (off by default: Azure ML answers a generic message).
    debug_errors: bool = False
    # Sent as x-ms-server-version (HTTP_X_MS_SERVER_VERSION, SERVER_VERSION_LOG_RESPONSE_ENABLED as on Azure ML).
    server_version: str = ""
    # A second listener on a unix socket (a folder mounted from the host), for containers with network_mode=none.
    unix_socket: str = ""
    # Hostile-client protections of the scoring port (scoring/server.py; README "Hostile clients").
    client_header_timeout_s: int = 10
    client_body_timeout_s: int = 20
    client_body_min_rate: int = 64 * 1024
    keepalive_timeout_s: int = 20
    max_request_line_bytes: int = 8192
    max_header_bytes: int = 32 * 1024
    max_header_count: int = 100
    worker_memory_limit_mb: int = 0
    # Triton's Prometheus port (loopback with TRITON_LOCALHOST_ONLY); the scoring /metrics re-exports its metrics.
    triton_metrics_port: int = 8002
    # "text" or "json" (JSON lines with the request id on every line logged while a request is handled).
    log_format: str = "text"
    # Seconds between SIGTERM (readiness turns 503 at once) and the start of Gunicorn's drain, so load balancers
    # stop sending new requests before the port closes.
    drain_delay_s: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        app_root = Path(env.get("AML_APP_ROOT") or os.getcwd())
        entry_script = app_root / (env.get("AZUREML_ENTRY_SCRIPT") or "score.py")
        model_dir = Path(env.get("AZUREML_MODEL_DIR") or app_root)
        triton_port = _integer(env, "TRITON_HTTP_PORT", 8000, minimum=1)
        # A relative repository lies under AZUREML_MODEL_DIR, so it follows the directory the platform sets.
        repository = model_dir / (env.get("TRITON_MODEL_REPOSITORY") or "triton")
        swagger = app_root / "swagger.json"
        return cls(
            app_root=app_root,
            entry_script=entry_script,
            model_dir=model_dir,
            server_host=env.get("SERVER_HOST") or "0.0.0.0",
            server_port=_integer(env, "SERVER_PORT", 5001, minimum=1),
            worker_count=_integer(env, "WORKER_COUNT", 1, minimum=1),
            # issue-24: gevent_llhttp (scoring/http_worker.py) is the default; gevent_pywsgi stays for the A/B.
            worker_class=_choice(env, "WORKER_CLASS", "gevent_llhttp", WORKER_CLASSES),
            worker_connections=_integer(env, "WORKER_CONNECTIONS", 10_000, minimum=1),
            worker_threads=_integer(env, "WORKER_THREADS", 32, minimum=1),
            worker_timeout_s=_integer(env, "WORKER_TIMEOUT", 300, minimum=1),
            graceful_timeout_s=_integer(env, "GRACEFUL_TIMEOUT", 8, minimum=1),
            scoring_timeout_ms=_integer(env, "SCORING_TIMEOUT_MS", 60_000, minimum=1),
            max_request_bytes=_integer(env, "MAX_REQUEST_BYTES", 100 * 2**20, minimum=1),
            triton_url=env.get("TRITON_URL") or f"127.0.0.1:{triton_port}",
            triton_http_port=triton_port,
            triton_model_repository=repository,
            triton_args=tuple(shlex.split(env.get("TRITON_ARGS", ""))),
            triton_release=_choice(env, "TRITON_RELEASE", triton_options.newest(), tuple(triton_options.releases())),
            triton_ready_timeout_s=_integer(env, "TRITON_READY_TIMEOUT", 300, minimum=1),
            triton_connections=_integer(env, "TRITON_CONNECTIONS", 64, minimum=1),
            swagger_file=swagger if swagger.is_file() else None,
            api_key=env.get("SCORING_API_KEY", ""),
            triton_localhost_only=_choice(env, "TRITON_LOCALHOST_ONLY", "1", ("0", "1")) == "1",
            debug_errors=_choice(env, "SCORING_DEBUG_ERRORS", "0", ("0", "1")) == "1",
            server_version=server_version(env),
            unix_socket=env.get("SCORING_UNIX_SOCKET", ""),
            **_client_limits(env),
            triton_metrics_port=_integer(env, "TRITON_METRICS_PORT", 8002, minimum=1),
            log_format=_choice(env, "LOG_FORMAT", "text", ("text", "json")),
            drain_delay_s=_integer(env, "DRAIN_DELAY", 0),
        )


def _client_limits(env: Mapping[str, str]) -> dict[str, int]:
    """The hostile-client block: timeouts in seconds, sizes in bytes, the body rate in bytes per second."""
    return {
        "client_header_timeout_s": _integer(env, "CLIENT_HEADER_TIMEOUT", 10, minimum=1),
        "client_body_timeout_s": _integer(env, "CLIENT_BODY_TIMEOUT", 20, minimum=1),
        "client_body_min_rate": _integer(env, "CLIENT_BODY_MIN_RATE", 64 * 1024, minimum=1),
        "keepalive_timeout_s": _integer(env, "KEEPALIVE_TIMEOUT", 20, minimum=1),
        "max_request_line_bytes": _integer(env, "MAX_REQUEST_LINE_BYTES", 8192, minimum=64),
        "max_header_bytes": _integer(env, "MAX_HEADER_BYTES", 32 * 1024, minimum=1024),
        "max_header_count": _integer(env, "MAX_HEADER_COUNT", 100, minimum=8),
        "worker_memory_limit_mb": _integer(env, "WORKER_MEMORY_LIMIT_MB", 0, minimum=0),
    }
