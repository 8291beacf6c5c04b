"""Tests wait for conditions, never for time: poll a condition until it holds, within a bound that only limits a
hang (it is never what the test measures)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

BOUND_S = 60.0
POLL_S = 0.05


def wait_until(
    condition: Callable[[], T],
    timeout_s: float = BOUND_S,
    what: str | Callable[[], str] = "the condition",
    poll_s: float = POLL_S,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """The first truthy value of `condition()`; AssertionError naming `what` when none came within `timeout_s`.
    `what` may be a callable, evaluated only on failure (e.g. the tail of a log). Exceptions of the `ignoring`
    types count as "not yet" (e.g. OSError while a port is not bound)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = condition()
        except ignoring:
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what() if callable(what) else what}")
        time.sleep(poll_s)  # the interval between two looks at the condition, not a wait for it
