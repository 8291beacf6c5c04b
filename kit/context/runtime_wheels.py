"""Wheels for the in-image scoring runtime and for each image's own requirements, per base profile."""

from __future__ import annotations

import hashlib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from kit.context.wheelhouse import WheelhouseError, WheelSet, fill, pinned_versions
from kit.paths import CACHE_DIR
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
    # Azure ML's @input_schema/@output_schema (the real package): 1.1 MB of wheels, 6.3 MB installed, most of it the
    # pytz and tzdata time zone tables that python-dateutil brings.
    "inference-schema==1.8",
    "python-dateutil==4.0.0",
    "pytz==2026.6",
    "wrapt==1.16.0",
)
# Without dependencies: its [http] extra would add aiohttp, which the gevent-based client never imports.
TRITONCLIENT = "tritonclient==2.73.0"
WHEELHOUSE = CACHE_DIR / "wheelhouse"


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


def kept_pins(profile: BaseProfile) -> tuple[str, ...]:
    """Pins an image's requirements must keep: what the base provides and every wheel the scoring runtime runs on,
    dependencies included (image-lib comes first on PYTHONPATH, so another version there would replace them)."""
    runtime = {f"{name}=={version}" for name, version in pinned_versions(scoring_wheels(profile)).items()}
    return tuple(sorted({*profile.base_provides, *runtime}))


def kept_versions(profile: BaseProfile) -> dict[str, str]:
    return {canonicalize_name(pin.split("==")[0]): pin.split("==")[1] for pin in kept_pins(profile)}


def requirements_to_fetch(requirements: list[str], profile: BaseProfile) -> list[str]:
    """The requirements pip still has to resolve. One naming a kept pin is refused, before any download, when its
    range excludes that pin (the error names both), and is already met by the kept copy otherwise (its extras too:
    the runtime's tritonclient is the gevent HTTP client, so `tritonclient[http]` is met by it)."""
    kept = kept_versions(profile)
    problems, remaining = [], []
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            problems.append(f"requirements: {text!r} is not a pip requirement ({error})")
            continue
        version = kept.get(canonicalize_name(requirement.name))
        if version is None:
            remaining.append(text)
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(
                f"requirements: {text} conflicts with {requirement.name}=={version}, which the {profile.name} base and"
                f" the scoring runtime keep; fix: allow {version} or drop the requirement"
            )
    if problems:
        raise WheelhouseError("\n".join(problems))
    return remaining


def image_wheels(requirements: list[str], profile: BaseProfile) -> list[Path]:
    """Wheels for the image's own requirements, resolved with the kept pins as constraints, less those pins
    themselves (already installed for the scoring app or provided by the base)."""
    remaining = requirements_to_fetch(requirements, profile)
    if not remaining:
        return []
    constraints = kept_pins(profile)
    wheel_set = WheelSet(
        tuple(remaining), profile.scoring_python_version, profile.wheel_platforms, constraints=constraints
    )
    folder = WHEELHOUSE / f"image-{profile.name}-{hashlib.sha256(wheel_set.fingerprint().encode()).hexdigest()[:12]}"
    kept = kept_versions(profile)
    return [
        wheel
        for wheel in fill(folder, wheel_set)
        if not any(kept.get(canonicalize_name(name)) == version for name, version in pinned_versions([wheel]).items())
    ]
