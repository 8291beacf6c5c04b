"""Render an image's build context into build/<name>/ (inspectable, byte-stable): Dockerfile, compose file, files."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kit import __version__
from kit.context import standalone_python
from kit.context.files import copy_tree, link_or_copy
from kit.context.locks import hashed_requirements
from kit.context.templates import render, render_image_dockerfile
from kit.docker.isolated import SOCKET_DIR, SOCKET_NAME
from kit.paths import BUILD_DIR, SCORING_DIR, SHARE_DIR
from kit.spec.bases import BaseProfile
from kit.spec.ignore import IgnoreRules
from kit.spec.image import SPEC_FILE, ImageSpec
from kit.spec.model_folders import context_placement, model_locations, mount_point, mounted
from scoring import layout

SCORING_PACKAGE = SCORING_DIR


@dataclass(frozen=True)
class ImageInputs:
    """Everything a render depends on; equal inputs give identical files."""

    folder: Path
    spec: ImageSpec
    profile: BaseProfile
    base_image: str
    base_digest: str
    source: str
    revision: str
    scoring_wheels: tuple[Path, ...]
    image_wheels: tuple[Path, ...]
    # Debian packages for system_packages, from the host-side .deb cache (kit/context/debs.py).
    system_debs: tuple[Path, ...] = ()
    # What FROM names: the resolved base by digest or image id (kit/base/identity.py); the profile's name when empty.
    base_from: str = ""

    @property
    def tag(self) -> str:
        return f"{self.spec.name}:{self.spec.version}"


def git_output(*arguments: str) -> str:
    try:
        result = subprocess.run(["git", *arguments], cwd=SHARE_DIR, capture_output=True, text=True, check=False)
    except OSError:  # no git on the machine, or an installed kit without a checkout
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def git_revision() -> str:
    revision = git_output("rev-parse", "HEAD") or "unknown"
    return revision + ("-dirty" if git_output("status", "--porcelain", "--untracked-files=no") else "")


def git_source() -> str:
    return git_output("remote", "get-url", "origin") or "local"


def short_revision() -> str:
    return git_output("rev-parse", "--short=12", "HEAD") or "unversioned"


def template_source(inputs: ImageInputs) -> str:
    kit_template = "templates/image/Dockerfile.j2"
    if inputs.spec.dockerfile_template is None:
        return kit_template
    return f"{inputs.folder.name}/{inputs.spec.dockerfile_template} (extending {kit_template})"


def dockerfile_text(inputs: ImageInputs) -> str:
    spec = inputs.spec
    return render_image_dockerfile(
        inputs.folder,
        spec.dockerfile_template,
        name=spec.name,
        version=spec.version,
        profile=inputs.profile,
        base_image=inputs.base_image,
        base_from=inputs.base_from or inputs.base_image,
        base_digest=inputs.base_digest,
        entry_script=spec.entry_script,
        registered_models=bool(spec.models),
        # Mounted at start (image.yaml models: mount: true): no model file enters the context or the image.
        mounted_models=[mount_point(model) for model in spec.models] if mounted(spec.models) else [],
        models_root=layout.MODELS_ROOT,
        **model_locations(spec),
        environment=dict(sorted(spec.environment.items())),
        has_image_wheels=bool(inputs.image_wheels),
        system_debs=[deb.name for deb in inputs.system_debs],
        template_source=template_source(inputs),
        standalone_python_archive=standalone_python.CONTEXT_NAME,
        source=inputs.source,
        revision=inputs.revision,
        kit_version=__version__,
    )


def compose_mounts(inputs: ImageInputs, directory: Path) -> list[dict[str, str]]:
    """A mount: true image's registered folders for the compose files: the image folder's own, relative to the
    compose file (bound read-only at the same mount points as `make run` and the smoke test)."""
    if not mounted(inputs.spec.models):
        return []
    return [
        {
            "name": model.registered_name,
            "source": os.path.relpath(inputs.folder / model.path, directory),
            "target": mount_point(model),
        }
        for model in inputs.spec.models
    ]


def render_context(inputs: ImageInputs, directory: Path | None = None) -> Path:
    spec, folder = inputs.spec, inputs.folder
    directory = directory or BUILD_DIR / spec.name
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    model_folders = {folder / model.path: directory / "models" / context_placement(model) for model in spec.models}
    if not spec.models:
        model_folders = {folder / (spec.model_repository or "triton"): directory / "triton"}
    exclude = {folder / SPEC_FILE, folder / "samples", *model_folders}
    if mounted(spec.models):
        model_folders = {}
    if spec.dockerfile_template is not None:
        exclude.add(folder / spec.dockerfile_template)
    ignore = IgnoreRules(folder)  # .amlignore / .dockerignore of the user's folder
    copy_tree(folder, directory / "app", exclude=exclude, ignored=ignore.ignored)
    for source, target in model_folders.items():
        copy_tree(source, target, ignored=ignore.ignored)
    copy_tree(SCORING_PACKAGE, directory / "scoring")
    for group, wheels in (("scoring", inputs.scoring_wheels), ("image", inputs.image_wheels)):
        for wheel in wheels:
            link_or_copy(wheel, directory / "wheels" / group / wheel.name)
        if wheels:  # the Dockerfile installs exactly these files, by hash
            (directory / "wheels" / group / "requirements.lock").write_text(hashed_requirements(wheels))
    for deb in inputs.system_debs:
        link_or_copy(deb, directory / "debs" / deb.name)
    standalone = inputs.profile.scoring_python == "standalone"
    archive = standalone_python.cached_archive() if standalone else None
    if archive is not None:  # render and lint work without it; build checks for it first (ensure_standalone_python)
        link_or_copy(archive, directory / "python" / standalone_python.CONTEXT_NAME)
    (directory / "Dockerfile").write_text(dockerfile_text(inputs))
    (directory / ".dockerignore").write_text(
        render("image/dockerignore.j2", standalone=standalone, debs=bool(inputs.system_debs))
    )
    for compose in ("docker-compose.yml", "docker-compose.no-bridge.yml"):
        text = render(
            f"image/{compose}.j2",
            name=spec.name,
            image=inputs.tag,
            socket_dir=SOCKET_DIR,
            socket_name=SOCKET_NAME,
            model_mounts=compose_mounts(inputs, directory),
        )
        (directory / compose).write_text(text)
    return directory
