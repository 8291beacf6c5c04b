"""Every place the kit reads its own files from or writes to, decided once.

- Kit files (templates/, scoring/, backends/): the checkout's folders when the kit runs from a checkout, else the
  copies packaged inside the wheel (kit/_share/...). Never written to.
- Caches (wheelhouse, base rootfs, standalone Python, .debs): $TRITON_KIT_CACHE, else the checkout's .cache/ (so
  `make` works as before), else $XDG_CACHE_HOME/triton-kit (default ~/.cache/triton-kit).
- Outputs (rendered contexts, records, manifests): $TRITON_KIT_OUTPUT (the CLI's --output), else the checkout's
  build/, else ./build in the current directory. Never inside site-packages.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_PARENT = PACKAGE_DIR.parent
# A checkout: the package sits beside pyproject.toml and the kit's own folders (not a site-packages install).
CHECKOUT: Path | None = _PARENT if (_PARENT / "pyproject.toml").is_file() and (_PARENT / "templates").is_dir() else None
SHARE_DIR = CHECKOUT if CHECKOUT is not None else PACKAGE_DIR / "_share"
TEMPLATES_DIR = SHARE_DIR / "templates"
SCORING_DIR = SHARE_DIR / "scoring"
BACKENDS_DIR = SHARE_DIR / "backends"

CACHE_ENV = "TRITON_KIT_CACHE"
OUTPUT_ENV = "TRITON_KIT_OUTPUT"


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser().absolute()
    if CHECKOUT is not None:
        return CHECKOUT / ".cache"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser().absolute() / "triton-kit"


def output_dir() -> Path:
    if os.environ.get(OUTPUT_ENV):
        return Path(os.environ[OUTPUT_ENV]).expanduser().absolute()
    if CHECKOUT is not None:
        return CHECKOUT / "build"
    return Path.cwd() / "build"


def images_dir() -> Path:
    """Where image names (not paths) are looked up: the checkout's images/, else the current directory."""
    return CHECKOUT / "images" if CHECKOUT is not None else Path.cwd()


CACHE_DIR = cache_dir()
BUILD_DIR = output_dir()
IMAGES_DIR = images_dir()
