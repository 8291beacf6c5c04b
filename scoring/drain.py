"""The draining flag: the supervisor raises it on SIGTERM, every worker's /ready then answers 503 at once.

A file in a private temporary folder, because Gunicorn's workers are separate processes; its path travels in
SCORING_DRAIN_FLAG.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ENV = "SCORING_DRAIN_FLAG"


def new_flag_path() -> str:
    return str(Path(tempfile.mkdtemp(prefix="scoring-drain-")) / "draining")


def raise_flag(path: str) -> None:
    Path(path).touch()


def draining(path: str | None) -> bool:
    return bool(path) and os.path.exists(path)  # type: ignore[arg-type]
