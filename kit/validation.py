"""Everything about image folders that can be checked without a Docker engine, first, for every folder at once.

The profile checked is the one BASE names, else the one image.yaml names; for `auto`, the profiles auto may pick
(an image valid on none of them is refused with each one's problems). Every problem of every folder is listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kit.context.debs import check_profile
from kit.context.templates import check_template_override
from kit.errors import KitError
from kit.spec.bases import AUTO, CPU, NGC_20_09, PROFILES, BaseProfile
from kit.spec.folder_paths import shown
from kit.spec.image import SPEC_FILE, ExplicitBase, ImageSpec, load_spec
from kit.spec.repository import check_repository

AUTO_CANDIDATES = (NGC_20_09, CPU)


@dataclass(frozen=True)
class ValidImage:
    folder: Path
    spec: ImageSpec
    profiles: tuple[BaseProfile, ...]  # the profiles it is valid on


def candidate_profiles(requested: str, spec: ImageSpec) -> tuple[BaseProfile, ...]:
    if requested != AUTO:
        return (PROFILES[requested],)
    if isinstance(spec.base, ExplicitBase):
        return (PROFILES[spec.base.profile],)
    if spec.base != AUTO:
        return (PROFILES[spec.base],)
    return AUTO_CANDIDATES


def profile_problems(folder: Path, spec: ImageSpec, profile: BaseProfile, resolve_wheels: bool) -> list[str]:
    problems: list[str] = []
    for check in (
        lambda: check_repository(folder / (spec.model_repository or "triton"), profile),
        lambda: check_profile(spec.system_packages, profile),
    ):
        try:
            check()
        except KitError as error:
            problems.append(str(error))
    if resolve_wheels and not problems and isinstance(spec.requirements, list):
        from kit.context.runtime_wheels import image_wheels

        try:
            image_wheels(spec.requirements, profile)
        except KitError as error:
            problems.append(str(error))
    return problems


def template_variable_problems(folder: Path, template_name: str) -> list[str]:
    """Variables a user's Dockerfile template reads that the kit does not define (each would fail the render)."""
    from jinja2 import TemplateSyntaxError, meta

    from kit.context.templates import IMAGE_DOCKERFILE, TEMPLATES_DIR, environment
    from kit.spec.text_files import TextFileError, read_text

    try:
        kit_names = meta.find_undeclared_variables(environment.parse((TEMPLATES_DIR / IMAGE_DOCKERFILE).read_text()))
        used = meta.find_undeclared_variables(environment.parse(read_text(folder / template_name)))
    except (TemplateSyntaxError, TextFileError) as error:
        return [f"dockerfile_template: {template_name}: {error}"]
    unknown = sorted(used - kit_names - set(environment.globals) - {"super", "self", "caller", "varargs", "kwargs"})
    if not unknown:
        return []
    return [
        f"dockerfile_template: {template_name} uses undefined variable(s) {', '.join(unknown)}; use only the kit's: "
        f"{', '.join(sorted(kit_names))}"
    ]


def validate_folder(folder: Path, requested: str, resolve_wheels: bool = False) -> ValidImage:
    spec = load_spec(folder)
    problems = []
    if spec.dockerfile_template is not None:
        try:
            check_template_override(folder, spec.dockerfile_template)
            problems += template_variable_problems(folder, spec.dockerfile_template)
        except KitError as error:
            problems.append(str(error))
    per_profile = {
        profile.name: profile_problems(folder, spec, profile, resolve_wheels)
        for profile in candidate_profiles(requested, spec)
    }
    valid = tuple(PROFILES[name] for name, found in per_profile.items() if not found)
    if not valid:
        several = len(per_profile) > 1
        for name, found in per_profile.items():
            prefix = f"(base {name}) " if several else ""
            problems += [prefix + text.replace("\n", "\n  ") for text in found]
    if problems:
        raise KitError(f"{shown(folder / SPEC_FILE)}:\n  " + "\n  ".join(problems))
    return ValidImage(folder, spec, valid)


def validate_folders(folders: list[Path], requested: str, resolve_wheels: bool = False) -> list[ValidImage]:
    """Every folder valid, or one KitError listing every problem of every folder (nothing is built)."""
    requested = (requested or AUTO).strip()
    if requested != AUTO and requested not in PROFILES:
        choices = ", ".join([AUTO, *PROFILES])
        raise KitError(f"BASE={requested!r} is not a base profile; use one of: {choices}")
    valid, problems = [], []
    for folder in folders:
        try:
            valid.append(validate_folder(folder, requested, resolve_wheels))
        except KitError as error:
            problems.append(str(error))
    if problems:
        raise KitError("validation failed; nothing was built:\n" + "\n".join(problems))
    return valid
