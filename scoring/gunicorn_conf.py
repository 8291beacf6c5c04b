"""Gunicorn settings from the environment (see scoring.settings); loaded with `-c python:scoring.gunicorn_conf`.

gevent workers (llhttp's compiled parser by default, measured cheapest per request: docs/benchmarks.md): one worker
keeps many requests in flight to Triton (so its dynamic batcher can batch them) and shares pooled connections safely
(docs/benchmarks.md, "Worker model").
"""

from __future__ import annotations

import os

from scoring.settings import Settings

_settings = Settings.from_env()

# The supervisor binds the port first (to answer probes while models load) and hands the socket over.
_inherited = os.environ.get("SCORING_LISTEN_FD")
bind = [f"fd://{_inherited}"] if _inherited else [f"{_settings.server_host}:{_settings.server_port}"]
if os.environ.get("SCORING_UNIX_LISTEN_FD"):
    bind.append(f"fd://{os.environ['SCORING_UNIX_LISTEN_FD']}")
elif _settings.unix_socket:
    bind.append(f"unix:{_settings.unix_socket}")
workers = _settings.worker_count
# The default is llhttp's parser under gevent (scoring/http_worker.py); gevent_pywsgi is gevent's pywsgi with the same
# protections (scoring/server.py); gevent, gthread and sync are Gunicorn's own workers (its parser, fewer protections).
PROTECTED = {"gevent_llhttp": "scoring.http_worker.CompiledWorker", "gevent_pywsgi": "scoring.server.ProtectedWorker"}
worker_class = PROTECTED.get(_settings.worker_class, _settings.worker_class)
worker_connections = _settings.worker_connections
threads = _settings.worker_threads
timeout = _settings.worker_timeout_s
graceful_timeout = _settings.graceful_timeout_s
keepalive = _settings.keepalive_timeout_s
# Gunicorn's own parser (the other worker classes) gets the same size limits.
limit_request_line = min(_settings.max_request_line_bytes, 8190)
limit_request_fields = min(_settings.max_header_count, 32768)
limit_request_field_size = _settings.max_header_bytes
preload_app = False  # init() and every Triton client must be created after fork
accesslog = None
errorlog = "-"
loglevel = _settings.log_level
proc_name = "scoring"
control_socket_disable = True  # gunicorn >= 27 would open a control socket in $HOME


def on_starting(server: object) -> None:
    if _settings.log_format == "json":
        from scoring.logs import use_json_for

        use_json_for(server.log.error_log)  # type: ignore[attr-defined]


def child_exit(server: object, worker: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
