"""Wheels for the in-image scoring runtime and for each image's own requirements, per base profile."""

from __future__ import annotations

import hashlib
from pathlib import Path

from kit import PROJECT_ROOT
from kit.context.wheelhouse import WheelSet, fill, pinned_versions
from kit.spec.bases import BaseProfile

SCORING_REQUIREMENTS = (
    "gunicorn==27.0.1",
    "gevent==26.9.0",
    "geventhttpclient==2.6.1",
    "python-rapidjson==1.25",
    "orjson==3.13.0",
    "prometheus-client==0.26.0",
    "ml-dtypes==0.5.4",  # tritonclient.utils imports it
    "numpy==1.26.4",
)
# Without dependencies: its [http] extra would add aiohttp, which the gevent-based client never imports.
TRITONCLIENT = "tritonclient==2.73.0"
WHEELHOUSE = PROJECT_ROOT / ".cache" / "wheelhouse"


def scoring_wheel_sets(profile: BaseProfile) -> list[WheelSet]:
    version, platforms = profile.scoring_python_version, profile.wheel_platforms
    return [
        WheelSet(SCORING_REQUIREMENTS, version, platforms),
        WheelSet((TRITONCLIENT,), version, platforms, with_dependencies=False),
    ]


def scoring_wheels(profile: BaseProfile) -> list[Path]:
    """Wheels to install for the scoring app, less what the base already provides (resolved with the same pins)."""
    provided = {pin.split("==")[0] for pin in profile.base_provides}
    wheels: list[Path] = []
    for index, wheel_set in enumerate(scoring_wheel_sets(profile)):
        wheels += fill(WHEELHOUSE / f"scoring-{profile.name}-{index}", wheel_set)
    return sorted(wheel for wheel in wheels if next(iter(pinned_versions([wheel]))) not in provided)


def image_wheels(requirements: list[str], profile: BaseProfile) -> list[Path]:
    if not requirements:
        return []
    wheel_set = WheelSet(tuple(requirements), profile.scoring_python_version, profile.wheel_platforms)
    folder = WHEELHOUSE / f"image-{profile.name}-{hashlib.sha256(wheel_set.fingerprint().encode()).hexdigest()[:12]}"
    return fill(folder, wheel_set)
