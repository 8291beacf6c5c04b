"""What both Gunicorn worker classes of the scoring port share: the descriptor budget, the memory cap, and a log line
(not a crash) when accept() runs out of file descriptors."""

from __future__ import annotations

import errno
import logging
import resource
import time

import gevent
from gevent import GreenletExit

from scoring import worker_limits
from scoring.http_limits import FD_RESERVE
from scoring.settings import Settings

log = logging.getLogger("scoring.server")
FD_LOG_INTERVAL_S = 10.0


class DescriptorsExhausted(GreenletExit):
    """accept() found no free descriptor. A GreenletExit, so gevent backs off and retries without a traceback."""


class DescriptorLog:
    """A gevent server mixin: says so in the log (every FD_LOG_INTERVAL_S at most) when accept() finds no descriptor."""

    last_fd_log = 0.0

    def do_read(self):  # type: ignore[no-untyped-def]
        try:
            return super().do_read()  # type: ignore[misc]
        except OSError as error:
            if error.errno not in (errno.EMFILE, errno.ENFILE):
                raise
            if time.monotonic() - self.last_fd_log > FD_LOG_INTERVAL_S:
                self.last_fd_log = time.monotonic()
                pool = getattr(self, "pool", None)
                log.error(
                    "out of file descriptors (limit %d, %d client connections open): new connections wait in the "
                    "listen queue until others close; raise the container's nofile limit or lower WORKER_CONNECTIONS",
                    resource.getrlimit(resource.RLIMIT_NOFILE)[0],
                    len(pool) if pool is not None else -1,
                )
            raise DescriptorsExhausted from error


class WorkerLimits:
    """A Gunicorn worker mixin: raise the nofile limit for WORKER_CONNECTIONS, cap the worker's memory after init()."""

    memory_cap = 0

    def init_limits(self) -> None:
        self.settings = Settings.from_env()
        wanted = self.worker_connections + FD_RESERVE  # type: ignore[attr-defined]
        fds = worker_limits.raise_fd_limit(wanted)
        if fds < wanted:
            self.log.warning(  # type: ignore[attr-defined]
                "nofile limit %d is below WORKER_CONNECTIONS=%d + %d: with that many clients accept() runs out of "
                "descriptors (logged, then retried)",
                fds,
                self.worker_connections,  # type: ignore[attr-defined]
                FD_RESERVE,
            )

    def load_wsgi(self) -> None:
        super().load_wsgi()  # type: ignore[misc]  # init() runs here, before the cap: loading is not a runaway request
        cap_mb = worker_limits.worker_memory_cap_mb(self.settings.worker_memory_limit_mb, self.settings.worker_count)
        if cap_mb:
            self.memory_cap = worker_limits.apply_memory_cap(cap_mb)
            source = "WORKER_MEMORY_LIMIT_MB" if self.settings.worker_memory_limit_mb else "auto, from --memory"
            self.log.info("worker memory cap %d MB (%s)", self.memory_cap >> 20, source)  # type: ignore[attr-defined]

    def run(self) -> None:
        if self.memory_cap:
            gevent.spawn(self.watch_memory)
        super().run()  # type: ignore[misc]

    def watch_memory(self) -> None:
        while self.alive:  # type: ignore[attr-defined]
            gevent.sleep(worker_limits.CHECK_INTERVAL_S)
            if worker_limits.memory_stays_high(self.memory_cap):
                self.log.error(  # type: ignore[attr-defined]
                    "worker %d holds %d MB, over %d%% of its %d MB cap: restarting it (in-flight requests finish "
                    "first, up to GRACEFUL_TIMEOUT)",
                    self.pid,  # type: ignore[attr-defined]
                    worker_limits.resident_size() >> 20,
                    int(worker_limits.RESTART_FRACTION * 100),
                    self.memory_cap >> 20,
                )
                self.alive = False
                return
