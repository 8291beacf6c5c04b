"""Bounds run() by SCORING_TIMEOUT_MS, as Azure ML's server does with SIGALRM, without one request holding others.

Two mechanisms, because a gevent worker serves many requests on one thread:
- a run() waiting on I/O (Triton) gets a gevent.Timeout, which the event loop fires at its deadline;
- a CPU-bound run() never yields to the event loop, so a SIGALRM armed for the earliest pending deadline interrupts
  it between two Python bytecodes (like Azure ML's alarm) if it is the one running and overdue. Everything else on
  that worker waits at most until then. Cost: a setitimer call when the first concurrent run() starts and when the
  last one ends; nothing per bytecode. A run() stuck inside one long C call is interrupted when that call returns.
The alarm only works on the main thread (sync and gevent workers); gthread workers get no hard deadline.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from scoring.errors import ScoringTimeout


class RunDeadline:
    def __init__(self, timeout_ms: int, gevent_patched: bool, threaded: bool = False) -> None:
        self.timeout_ms = timeout_ms
        self.timeout_s = timeout_ms / 1000.0
        self.pending: dict[Any, float] = {}
        self.armed = False
        main_thread = threading.current_thread() is threading.main_thread()
        self.alarm = main_thread and not threaded and hasattr(signal, "setitimer")
        self.current: Callable[[], Any] = threading.get_ident
        self.gevent_timeout: Callable[[], Any] | None = None
        if gevent_patched:
            import gevent

            self.current = gevent.getcurrent
            self.gevent_timeout = lambda: gevent.Timeout(self.timeout_s, ScoringTimeout(timeout_ms))
        if self.alarm:
            signal.signal(signal.SIGALRM, self.on_alarm)

    def __call__(self) -> _Bound:
        return _Bound(self)

    def enter(self, me: object) -> None:
        self.pending[me] = time.monotonic() + self.timeout_s
        if self.alarm and not self.armed:  # an armed alarm is never later than this deadline: nothing to do
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, self.timeout_s)

    def on_alarm(self, signum: int, frame: object) -> None:
        now = time.monotonic()
        me = self.current()
        overdue = self.pending.get(me, now + 1) <= now + 0.001
        if overdue:
            del self.pending[me]
        later = [deadline for deadline in self.pending.values() if deadline > now]
        self.armed = bool(later)
        if later:
            signal.setitimer(signal.ITIMER_REAL, max(min(later) - now, 0.001))
        if overdue:
            raise ScoringTimeout(self.timeout_ms)


class _Bound:
    """One run()'s deadline (a class, not a generator context manager: this is on every request's path)."""

    __slots__ = ("deadline", "me", "timeout")

    def __init__(self, deadline: RunDeadline) -> None:
        self.deadline = deadline
        self.me = deadline.current()
        self.timeout = deadline.gevent_timeout() if deadline.gevent_timeout is not None else None

    def __enter__(self) -> None:
        self.deadline.enter(self.me)
        if self.timeout is not None:
            self.timeout.start()

    def __exit__(self, *exc_info: object) -> None:
        if self.timeout is not None:
            self.timeout.close()
        self.deadline.pending.pop(self.me, None)
