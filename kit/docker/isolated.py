"""Containers in their own network namespace (network_mode=none), as Azure ML runs them: Triton on its default
127.0.0.1:8000 inside each, however many run at once, and the scoring app reached through a unix socket in a folder
mounted from the host (SCORING_UNIX_SOCKET). No bridge network is needed or created."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOCKET_DIR = "/run/scoring"
SOCKET_NAME = "scoring.sock"


@dataclass(frozen=True)
class IsolatedRun:
    """docker run options for network_mode=none plus the host path of the scoring app's unix socket."""

    options: dict[str, Any]
    socket_path: Path


@contextmanager
def isolated_run(prefix: str) -> Iterator[IsolatedRun]:
    """A private network namespace (Triton on its default 127.0.0.1:8000, as on Azure ML) and a socket folder."""
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    folder.chmod(0o777)  # the container's non-root user creates the socket here
    options = {
        "network_mode": "none",
        "environment": {"SCORING_UNIX_SOCKET": f"{SOCKET_DIR}/{SOCKET_NAME}"},
        "volumes": {str(folder): {"bind": SOCKET_DIR, "mode": "rw"}},
    }
    try:
        yield IsolatedRun(options, folder / SOCKET_NAME)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
