"""Wheels for the in-image scoring runtime and for each image's own requirements, per base profile."""

from __future__ import annotations

import hashlib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from kit.context.locks import LockError, download_locked, pip_report, read_lock
from kit.context.wheelhouse import WheelhouseError, WheelSet, fill, pinned_versions
from kit.paths import CACHE_DIR
from kit.spec.bases import BaseProfile

WHEELHOUSE = CACHE_DIR / "wheelhouse"


def scoring_wheels(profile: BaseProfile) -> list[Path]:
    """The profile's locked scoring runtime (kit/context/locks/<profile>.txt), less what the base already provides,
    downloaded with its hashes checked."""
    provided = {canonicalize_name(pin.split("==")[0]) for pin in profile.base_provides}
    wanted = [wheel for wheel in read_lock(profile) if wheel.name not in provided]
    return download_locked(WHEELHOUSE / f"scoring-{profile.name}", profile, wanted)


def kept_pins(profile: BaseProfile) -> tuple[str, ...]:
    """Pins an image's requirements must keep: what the base provides and every wheel the scoring runtime runs on,
    dependencies included (image-lib comes first on PYTHONPATH, so another version there would replace them)."""
    runtime = {f"{wheel.name}=={wheel.version}" for wheel in read_lock(profile)}
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
    try:
        wheels = fill(folder, wheel_set)
    except WheelhouseError as error:
        raise WheelhouseError("\n".join(without_wheels(remaining, profile)) or str(error)) from None
    return [
        wheel
        for wheel in wheels
        if not any(kept.get(canonicalize_name(name)) == version for name, version in pinned_versions([wheel]).items())
    ]


def without_wheels(requirements: list[str], profile: BaseProfile) -> list[str]:
    """For each requirement with no wheel for the profile's interpreter and C library: the newest release that fits."""
    target = f"CPython {profile.scoring_python_version}, glibc {profile.glibc}"
    problems = []
    for text in requirements:
        try:
            pip_report(profile, [text], with_dependencies=False)
            continue
        except LockError:
            pass
        name = Requirement(text).name
        try:
            newest = pip_report(profile, [name], with_dependencies=False)[0].version
            fit = f"the newest release that fits is {name}=={newest}; fix: pin {name}=={newest} or a range with it"
        except LockError:
            fit = f"no release of {name} has a wheel for it; fix: drop it or choose another base"
        problems.append(f"requirements: {text} has no wheel for the {profile.name} base ({target}); {fit}")
    return problems
