"""One console for the kit's progress lines, with elapsed time on long steps."""

from __future__ import annotations

import time

from rich.console import Console

# markup=False: progress lines carry user text such as `tritonclient[http]`, which rich would take for markup.
console = Console(highlight=False, soft_wrap=True, markup=False)


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def stamp(self) -> str:
        return f"[{self.seconds:6.1f}s]"
