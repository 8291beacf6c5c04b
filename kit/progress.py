"""One console for the kit's progress lines, with elapsed time on long steps."""

from __future__ import annotations

import time

from rich.console import Console

# markup=False: progress lines carry user text such as `tritonclient[http]`, which rich would take for markup.
# Rich honours NO_COLOR by itself.
console = Console(highlight=False, soft_wrap=True, markup=False)


def configure_console(plain: bool, to_stderr: bool) -> None:
    """--progress plain: no colours or control codes; --json: logs to stderr so stdout holds only the result."""
    if plain:
        console.no_color = True
        console._force_terminal = False  # rich has no public setter; this is what Console(force_terminal=False) sets
    console.stderr = to_stderr


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def stamp(self) -> str:
        return f"[{self.seconds:6.1f}s]"
