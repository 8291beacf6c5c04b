"""Registered model folders laid out as Azure ML does under AZUREML_MODEL_DIR, and the Triton repository inside them.

One model: AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/<name>/<version>, the folder kept under its own name in
it (`models/` -> $AZUREML_MODEL_DIR/models/...). Several: AZUREML_MODEL_DIR=/var/azureml-app/azureml-models, each at
<name>/<version>/<folder>/. The Triton repository path is stored relative to AZUREML_MODEL_DIR, so the image follows
whatever AZUREML_MODEL_DIR the platform sets when it attaches the same models.

`mount: true` (on every model folder, or none): the image is built without the files, and the folders are mounted
read-only at start where Azure ML mounts a registered model (MODELS_ROOT/<name>/<version>/<folder>, see mount_point);
the smoke test, `make run`, compose and the generated manifests all attach them there.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from scoring import layout

if TYPE_CHECKING:  # image.py imports this module
    from kit.spec.image import ImageSpec

REGISTERED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


class ModelFolder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="the registered model's folder, relative to the image folder")
    name: str | None = Field(default=None, description="registered model name (default: the folder's name)")
    version: int = Field(default=1, ge=1)
    mount: bool = Field(
        default=False,
        description="mounted read-only at start (as Azure ML mounts a registered model), not built into the image",
    )

    @field_validator("path")
    @classmethod
    def relative_inside(cls, value: str) -> str:
        pure = PurePosixPath(value)
        if pure.is_absolute() or ".." in pure.parts or not pure.name:
            raise ValueError(f"{value!r} must be a folder inside the image folder (e.g. models), without ..")
        return str(pure)

    @field_validator("name")
    @classmethod
    def azure_ml_name(cls, value: str | None) -> str | None:
        if value is not None and not REGISTERED_NAME.match(value):
            raise ValueError(f"{value!r} is not an Azure ML model name (letters, digits, - _ .)")
        return value

    @property
    def registered_name(self) -> str:
        return self.name or PurePosixPath(self.path).name

    @property
    def folder_name(self) -> str:
        return PurePosixPath(self.path).name


def mounted(models: list[ModelFolder]) -> bool:
    """The image holds no model: every registered folder is mounted at start (validated: all or none)."""
    return bool(models) and all(model.mount for model in models)


def mount_point(model: ModelFolder) -> str:
    """Where a registered folder lies in the image, mounted or baked: Azure ML's <name>/<version>/<folder>."""
    return f"{layout.MODELS_ROOT}/{context_placement(model)}"


def model_dir(models: list[ModelFolder]) -> str:
    """The AZUREML_MODEL_DIR Azure ML sets for these models."""
    if len(models) == 1:
        return f"{layout.MODELS_ROOT}/{models[0].registered_name}/{models[0].version}"
    return layout.MODELS_ROOT


def placement(models: list[ModelFolder], model: ModelFolder) -> str:
    """Where `model`'s folder lies, relative to AZUREML_MODEL_DIR."""
    if len(models) == 1:
        return model.folder_name
    return f"{model.registered_name}/{model.version}/{model.folder_name}"


def context_placement(model: ModelFolder) -> str:
    """Where `model`'s folder lies in the build context's models/ (= under MODELS_ROOT in the image)."""
    return f"{model.registered_name}/{model.version}/{model.folder_name}"


def looks_like_repository(folder: Path) -> bool:
    """A Triton model repository: a folder of model folders holding integer version folders or a config.pbtxt."""
    models = [entry for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith(".")]
    return any(
        (model / "config.pbtxt").is_file() or any(child.is_dir() and child.name.isdigit() for child in model.iterdir())
        for model in models
    )


def find_repositories(image_folder: Path, models: list[ModelFolder]) -> list[str]:
    """Candidate Triton repositories (paths relative to the image folder), shallowest first."""
    found = []
    for model in models:
        root = image_folder / model.path
        if not root.is_dir():
            continue
        for candidate in [root, *sorted(path for path in root.rglob("*") if path.is_dir())]:
            parts = candidate.relative_to(root).parts
            if any(part.startswith(".") or part.isdigit() for part in parts):
                continue
            if looks_like_repository(candidate):
                found.append(candidate.relative_to(image_folder).as_posix())
    return sorted(found, key=lambda path: (path.count("/"), path))


def owning_model(models: list[ModelFolder], repository: str) -> ModelFolder | None:
    for model in models:
        if repository == model.path or repository.startswith(model.path + "/"):
            return model
    return None


def repository_in_model_dir(models: list[ModelFolder], repository: str) -> str:
    """TRITON_MODEL_REPOSITORY relative to AZUREML_MODEL_DIR, for a repository inside one of `models`."""
    model = owning_model(models, repository)
    assert model is not None, "validated: the repository lies in a model folder"
    inside = repository.removeprefix(model.path).lstrip("/")
    return "/".join(part for part in (placement(models, model), inside) if part)


def model_locations(spec: ImageSpec) -> dict[str, str]:
    """AZUREML_MODEL_DIR and TRITON_MODEL_REPOSITORY (relative to it when the models are registered folders)."""
    if not spec.models:
        return {"model_dir": layout.LEGACY_MODEL_DIR, "triton_repository": f"{layout.LEGACY_MODEL_DIR}/triton"}
    assert spec.model_repository is not None, "load_spec resolves the repository"
    return {
        "model_dir": model_dir(spec.models),
        "triton_repository": repository_in_model_dir(spec.models, spec.model_repository),
    }
