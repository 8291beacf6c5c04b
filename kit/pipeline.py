"""`make build`: validate every image, resolve bases, render, build, smoke-test, then tag and record what passed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from kit import paths
from kit.base.cpu_base import build_cpu_base
from kit.base.identity import BaseIdentity, identify
from kit.context import standalone_python
from kit.context.debs import check_profile, system_debs
from kit.context.render import ImageInputs, git_revision, git_source, render_context, short_revision
from kit.context.runtime_wheels import image_wheels, scoring_wheels
from kit.context.templates import check_template_override
from kit.docker import sdk
from kit.docker.build import BuildResult, build_image
from kit.docker.client import DockerImages
from kit.docker.sdk import ImageNotFound
from kit.errors import ExitCode, KitError
from kit.paths import BUILD_DIR
from kit.progress import console
from kit.release.record import TestedRecord, forget
from kit.spec.bases import AUTO, PROFILES, BaseProfile, ResolvedBase, resolve_base
from kit.spec.image import SPEC_FILE, ExplicitBase, ImageSpec
from kit.spec.repository import check_repository
from kit.spec.requirements import REPLACED_BY_KIT
from kit.validation import ValidImage, validate_folders
from kit.verify.glibc import check_glibc
from kit.verify.sbom import ImageIdentity, write_sbom
from kit.verify.smoke import SmokeReport, smoke_test

IMAGES_DIR = paths.IMAGES_DIR


@dataclass(frozen=True)
class ImagePlan:
    folder: Path
    spec: ImageSpec
    profile: BaseProfile
    base_image: str


@dataclass
class ImageOutcome:
    plan: ImagePlan
    size_mb: float = 0.0
    build_seconds: float = 0.0
    report: SmokeReport | None = None
    build: BuildResult | None = None
    error: str = ""
    exit_code: ExitCode = ExitCode.OK
    tags: list[str] = field(default_factory=list)

    def fail(self, error: str, exit_code: ExitCode) -> ImageOutcome:
        self.error, self.exit_code = error, exit_code
        return self

    def document(self) -> dict[str, Any]:
        """The `--json` result for this image."""
        report = self.report
        return {
            "name": self.plan.spec.name,
            "version": self.plan.spec.version,
            "base": {"profile": self.plan.profile.name, "image": self.plan.base_image},
            "result": "tested" if not self.error else "failed",
            "exit_code": int(self.exit_code),
            "image_id": self.build.image_id if self.build else None,
            "tags": self.tags,
            "size_bytes": round(self.size_mb * 1e6),
            "build_seconds": round(self.build_seconds, 3),
            "ready_seconds": round(report.ready_seconds, 3) if report else None,
            "samples": {"passed": report.samples_passed, "total": report.samples_total} if report else None,
            "error": self.error or None,
        }


def image_folders(names: list[str]) -> list[Path]:
    """Folders for `names` (image names under images/ or paths to image folders); all of images/ when empty."""
    if not names:
        return sorted(path.parent for path in IMAGES_DIR.glob("*/image.yaml"))
    folders = []
    for name in names:
        candidate = Path(name)
        folder = candidate if candidate.is_dir() else IMAGES_DIR / name
        if not (folder / "image.yaml").is_file():
            known = ", ".join(path.parent.name for path in sorted(IMAGES_DIR.glob("*/image.yaml"))) or "none"
            raise KitError(
                f"{name}: no image folder with an image.yaml (images/ has: {known}); give a folder path, or run "
                f"`triton-kit init {name}` to write one"
            )
        folders.append(folder.resolve())
    return folders


class BaseResolver:
    """Resolves each image's base once: BASE=<profile> forces, else the image's own `base:` (auto by default)."""

    def __init__(self, docker_client: sdk.DockerClient, requested: str) -> None:
        self.docker_client = docker_client
        self.requested = requested or AUTO
        self.auto: ResolvedBase | None = None

    def resolve(self, spec: ImageSpec) -> tuple[BaseProfile, str]:
        if self.requested != AUTO:
            profile = resolve_base(self.requested, DockerImages(self.docker_client)).profile
            return profile, profile.image
        if isinstance(spec.base, ExplicitBase):
            return PROFILES[spec.base.profile], spec.base.image
        if spec.base != AUTO:
            return PROFILES[spec.base], PROFILES[spec.base].image
        if self.auto is None:
            self.auto = resolve_base(AUTO, DockerImages(self.docker_client))
            console.print(self.auto.describe())
        return self.auto.profile, self.auto.profile.image


def plan_images(
    docker_client: sdk.DockerClient,
    names: list[str],
    requested_base: str,
    validated: list[ValidImage] | None = None,
) -> list[ImagePlan]:
    """Validate everything first (what needs no engine before anything that does): any problem in any image stops
    the run before anything is built. `validated`: the engine-free validation, when the caller ran it already."""
    if validated is None:
        validated = validate_folders(image_folders(names), requested_base)
    resolver = BaseResolver(docker_client, requested_base)
    plans, problems = [], []
    for folder, spec in ((item.folder, item.spec) for item in validated):
        try:
            profile, base_image = resolver.resolve(spec)
            check_repository(folder / spec.model_repository, profile)
            check_image_context(folder, spec, profile)
            plans.append(ImagePlan(folder, spec, profile, base_image))
        except KitError as error:
            problems.append(str(error))
    if problems:
        raise KitError("validation failed; nothing was built:\n" + "\n".join(problems))
    return plans


def check_image_context(folder: Path, spec: ImageSpec, profile: BaseProfile) -> None:
    """What the context adds to validation: the template override, system packages' base, requirement pins
    (resolved here, so a conflict with the kept pins stops the run before any build)."""
    if spec.dockerfile_template is not None:
        check_template_override(folder, spec.dockerfile_template)
    try:
        check_profile(spec.system_packages, profile)
        image_wheels(spec.requirements, profile)
    except KitError as error:
        raise KitError(f"{folder / SPEC_FILE}:\n  " + str(error).replace("\n", "\n  ")) from None


def ensure_base(docker_client: sdk.DockerClient, plan: ImagePlan, built: set[str]) -> str:
    """The base image id, building the embedded cpu base when needed (at most once per run)."""
    if plan.profile.embedded and plan.base_image == plan.profile.image and plan.base_image not in built:
        build_cpu_base(docker_client)
        built.add(plan.base_image)
    try:
        return str(docker_client.images.get(plan.base_image).id)
    except ImageNotFound:
        raise KitError(f"{plan.spec.name}: base image {plan.base_image} is not available locally") from None


def identify_bases(docker_client: sdk.DockerClient, plans: list[ImagePlan]) -> dict[str, BaseIdentity]:
    """Each base once, by identity (building the embedded base when needed), printed before any image is built."""
    identities: dict[str, BaseIdentity] = {}
    built: set[str] = set()
    for plan in plans:
        if plan.base_image not in identities:
            ensure_base(docker_client, plan, built)
            identities[plan.base_image] = identify(docker_client, plan.base_image, plan.profile)
            console.print(f"base: {identities[plan.base_image].describe()}")
    return identities


def prepare_inputs(docker_client: sdk.DockerClient, plan: ImagePlan, base: BaseIdentity) -> ImageInputs:
    return ImageInputs(
        folder=plan.folder,
        spec=plan.spec,
        profile=plan.profile,
        base_image=plan.base_image,
        base_from=base.reference,
        base_digest=base.image_id,
        source=git_source(),
        revision=git_revision(),
        scoring_wheels=tuple(scoring_wheels(plan.profile)),
        image_wheels=tuple(image_wheels(plan.spec.requirements, plan.profile)),
        system_debs=tuple(system_debs(docker_client, plan.base_image, plan.spec.system_packages)),
    )


def build_and_test(docker_client: sdk.DockerClient, plan: ImagePlan, base: BaseIdentity) -> ImageOutcome:
    outcome = ImageOutcome(plan)
    spec = plan.spec
    inputs = prepare_inputs(docker_client, plan, base)
    context = render_context(inputs)
    forget(spec.name)
    candidate = f"{spec.name}:{short_revision()}"
    result = build_image(docker_client, context, [candidate], label=spec.name)
    outcome.build, outcome.build_seconds = result, result.seconds
    outcome.size_mb = docker_client.images.get(result.image_id).attrs["Size"] / 1e6
    try:
        console.print(check_glibc(docker_client, result.image_id, plan.profile))
    except KitError as error:
        return outcome.fail(str(error), ExitCode.BUILD)
    try:
        outcome.report = smoke_test(docker_client, result.image_id, spec, plan.folder)
    except KitError as error:
        return outcome.fail(str(error), ExitCode.SMOKE_TEST)
    if not outcome.report.passed:
        return outcome.fail("\n".join(outcome.report.failures), ExitCode.SMOKE_TEST)
    identity = ImageIdentity(spec.name, spec.version, result.image_id, plan.profile.scoring_python_path)
    try:  # beside the manifests (build/<name>/deploy/), before the image counts as tested
        write_sbom(docker_client, identity, BUILD_DIR / spec.name / "deploy")
    except KitError as error:
        return outcome.fail(str(error), ExitCode.BUILD)
    docker_client.images.get(result.image_id).tag(spec.name, spec.version)
    outcome.tags = [inputs.tag, candidate]
    mounted = {model.name: model.as_record() for model in outcome.report.mounted_models}
    TestedRecord(result.image_id, outcome.tags, inputs.revision, base=base.reference, mounted_models=mounted).write(
        spec.name
    )
    return outcome


def check_build_inputs(
    plans: list[ImagePlan], python_cache: Path = standalone_python.CACHE_DIR, python_url: str = standalone_python.URL
) -> None:
    """What a build needs beyond what render needs, checked before any `docker build`."""
    problems = []
    for plan in plans:
        if plan.profile.scoring_python == "standalone":
            try:
                standalone_python.ensure_standalone_python(python_cache, python_url)
            except KitError as error:
                problems.append(f"{plan.spec.name} (base {plan.profile.name}): {error}")
    if problems:
        raise KitError("cannot build; nothing was built:\n" + "\n".join(problems))


def summary(outcomes: list[ImageOutcome]) -> Table:
    table = Table(title="triton-kit build")
    for column in ("image", "size MB", "build s", "ready s", "samples", "result"):
        table.add_column(column)
    for outcome in outcomes:
        report = outcome.report
        table.add_row(
            f"{outcome.plan.spec.name}:{outcome.plan.spec.version}",
            f"{outcome.size_mb:.0f}",
            f"{outcome.build_seconds:.1f}",
            f"{report.ready_seconds:.1f}" if report else "-",
            f"{report.samples_passed}/{report.samples_total}" if report else "-",
            "tested" if not outcome.error else "FAILED",
        )
    return table


def build_all(
    docker_client: sdk.DockerClient,
    names: list[str],
    requested_base: str,
    validated: list[ValidImage] | None = None,
) -> list[ImageOutcome]:
    plans = plan_images(docker_client, names, requested_base, validated)
    for plan in plans:
        for name in plan.spec.dropped_requirements:
            console.print(f"{plan.spec.name}: dropped requirement {name} ({REPLACED_BY_KIT[name]})")
    check_build_inputs(plans)
    outcomes = []
    try:
        bases = identify_bases(docker_client, plans)
    except KitError as error:
        raise KitError(f"{error}\nnothing was built") from None
    for plan in plans:
        try:
            outcome = build_and_test(docker_client, plan, bases[plan.base_image])
        except KitError as error:
            outcome = ImageOutcome(plan).fail(str(error), error.exit_code)
        if outcome.error:
            console.print(f"{plan.spec.name} failed:", style="bold red")
            console.print(outcome.error)
        outcomes.append(outcome)
    console.print(summary(outcomes))
    return outcomes
