"""images/<name>/image.yaml, validated with pydantic: errors name the file, the field and the fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kit.errors import KitError
from kit.spec.bases import AUTO, PROFILES
from kit.spec.conda import pip_requirements
from kit.spec.model_folders import ModelFolder, find_repositories, owning_model
from kit.spec.samples import HeaderRegex, Sample, sample_expected, sample_file_problems, sample_request

__all__ = ["ImageSpec", "Sample", "SpecError", "load_spec", "sample_expected", "sample_request"]

SPEC_FILE = "image.yaml"
NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Set by the kit's templates for its own use (an image overriding them would break the runtime contract), each
# with the fix. Documented settings the template also sets, such as SERVER_PORT, stay settable.
RESERVED_ENV = {
    "AML_APP_ROOT": "the app folder is fixed at /var/azureml-app",
    "AZUREML_ENTRY_SCRIPT": "use entry_script:",
    "AZUREML_MODEL_DIR": "declare registered model folders with models: instead",
    "TRITON_MODEL_REPOSITORY": "use model_repository: or models:",
    "TRITON_RELEASE": "it names the base's Triton release (its option table); add Triton flags with TRITON_ARGS",
    "PYTHONPATH": "add Python packages with requirements:",
    "PYTHONDONTWRITEBYTECODE": "the app files are read-only to the scoring user",
    "PYTHONUNBUFFERED": "logs must reach the container output unbuffered",
    "PATH": "the base sets it for tritonserver",
    "LD_LIBRARY_PATH": "the base sets it for Triton's libraries",
}
# Docker ENV values are one line; tab is the only control character they can hold.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
TEMPLATE_SUFFIX = ".j2"
DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
LEGACY_REPOSITORY = "triton"


class SpecError(KitError):
    pass


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExplicitBase(Strict):
    image: str = Field(description="an image reference present locally or pullable")
    profile: str = Field(description="the profile this image behaves like (cpu or ngc-20.09)")

    @field_validator("profile")
    @classmethod
    def known_profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"unknown profile {value!r}; use one of {', '.join(PROFILES)}")
        return value


CPU_QUANTITY = re.compile(r"^(\d+m|\d+(\.\d{1,3})?)$")
MEMORY_QUANTITY = re.compile(r"^\d+(Ki|Mi|Gi|Ti)$")
MEMORY_FACTORS = {"Ki": 1, "Mi": 1024, "Gi": 1024**2, "Ti": 1024**3}


class DeploySpec(Strict):
    """image.yaml `deploy:` (optional): what `make manifests` puts into the Kubernetes, KServe and Azure ML files."""

    namespace: str = "scoring"
    replicas: int = Field(default=2, ge=1, le=100, description="replicas at rest (the autoscaler's minimum)")
    max_replicas: int = Field(default=6, ge=1, le=1000, description="the autoscaler's maximum")
    target_cpu_utilization: int = Field(default=70, ge=10, le=100, description="autoscaling target, % of cpu")
    cpu: str = Field(default="1", description="cpu request, e.g. 500m or 2")
    memory: str = Field(default="1Gi", description="memory request, e.g. 1Gi")
    cpu_limit: str = "2"
    memory_limit: str = "2Gi"
    gpu: int = Field(default=0, ge=0, le=16, description="nvidia.com/gpu per replica")
    azureml_instance_type: str = Field(default="Standard_DS3_v2", pattern=r"^[A-Za-z0-9_]+$")

    @field_validator("namespace")
    @classmethod
    def namespace_name(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", value):
            raise ValueError("use lower-case letters, digits and - (a Kubernetes namespace), e.g. scoring")
        return value

    @field_validator("cpu", "cpu_limit", mode="before")
    @classmethod
    def cpu_quantity(cls, value: Any) -> Any:
        value = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        if not isinstance(value, str) or not CPU_QUANTITY.match(value):
            raise ValueError(f"{value!r} is not a cpu quantity; write millicores like 500m or cores like 1 or 1.5")
        return value

    @field_validator("memory", "memory_limit")
    @classmethod
    def memory_quantity(cls, value: str) -> str:
        if not MEMORY_QUANTITY.match(value):
            raise ValueError(f"{value!r} is not a memory quantity; write 512Mi, 2Gi (binary units Ki, Mi, Gi, Ti)")
        return value

    @model_validator(mode="after")
    def limits_cover_requests(self) -> DeploySpec:
        if self.max_replicas < self.replicas:
            raise ValueError(f"max_replicas ({self.max_replicas}) is below replicas ({self.replicas}); raise it")
        if self.millicores(self.cpu_limit) < self.millicores(self.cpu):
            raise ValueError(f"cpu_limit {self.cpu_limit} is below the cpu request {self.cpu}; raise cpu_limit")
        if self.kibibytes(self.memory_limit) < self.kibibytes(self.memory):
            raise ValueError(f"memory_limit {self.memory_limit} is below the request {self.memory}; raise it")
        return self

    @staticmethod
    def millicores(quantity: str) -> float:
        return float(quantity[:-1]) if quantity.endswith("m") else float(quantity) * 1000

    @staticmethod
    def kibibytes(quantity: str) -> int:
        return int(quantity[:-2]) * MEMORY_FACTORS[quantity[-2:]]


class ImageSpec(Strict):
    name: str
    version: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    base: str | ExplicitBase = AUTO
    entry_script: str = "score.py"
    # Registered model folders (Azure ML layout under AZUREML_MODEL_DIR); without them, triton/ beside score.py.
    models: list[ModelFolder] = Field(default_factory=list)
    # The Triton repository (path in the image folder); found inside `models` when not given.
    model_repository: str | None = None
    requirements: list[str] = Field(default_factory=list)
    conda_file: str | None = Field(default=None, description="an Azure ML conda environment file; its pip: section")
    environment: dict[str, str] = Field(default_factory=dict)
    samples: list[Sample] = Field(min_length=1)
    registries: list[str] = Field(default_factory=list)
    deploy: DeploySpec = Field(default_factory=DeploySpec)
    dockerfile_template: str | None = Field(
        default=None, description="a Jinja template in the image folder that {% extends 'image/Dockerfile.j2' %}"
    )
    system_packages: list[str] = Field(default_factory=list, description="Debian packages (cpu base)")

    @field_validator("name")
    @classmethod
    def docker_name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("use lower-case letters, digits and . _ - (a Docker repository name), e.g. digits-onnx")
        return value

    @field_validator("base")
    @classmethod
    def known_base(cls, value: str | ExplicitBase) -> str | ExplicitBase:
        if isinstance(value, str) and value != AUTO and value not in PROFILES:
            choices = ", ".join([AUTO, *PROFILES])
            raise ValueError(f"unknown base {value!r}; use one of {choices} or {{image: ..., profile: ...}}")
        return value

    @field_validator("environment", mode="before")
    @classmethod
    def string_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: str(item) for key, item in value.items()}
        return value

    @field_validator("environment")
    @classmethod
    def environment_names(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        for key in value:
            if not ENV_NAME.match(key):
                problems.append(f"{key!r} is not an environment variable name (use UPPER_CASE)")
            elif key in RESERVED_ENV:
                problems.append(f"{key} is reserved: the kit sets it for its own use; remove it ({RESERVED_ENV[key]})")
            elif CONTROL_CHARACTERS.search(value[key]):
                problems.append(
                    f"{key}: the value holds a newline or another control character, which a Docker ENV value cannot"
                    " carry; put it on one line (or in a file in the image folder)"
                )
        if problems:
            raise ValueError("\n  environment: ".join(problems))
        return value

    @field_validator("models")
    @classmethod
    def distinct_models(cls, value: list[ModelFolder]) -> list[ModelFolder]:
        names = [model.registered_name for model in value]
        folders = [model.path for model in value]
        if len(set(names)) != len(names) or len(set(folders)) != len(folders):
            raise ValueError("each model folder and registered name may appear once; remove the duplicate")
        return value

    @field_validator("dockerfile_template")
    @classmethod
    def template_name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        path = Path(value)
        if path.is_absolute() or ".." in path.parts or not value.endswith(TEMPLATE_SUFFIX):
            raise ValueError(f"{value!r}: name a {TEMPLATE_SUFFIX} file inside the image folder, e.g. Dockerfile.j2")
        return value

    @field_validator("system_packages")
    @classmethod
    def package_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not DEBIAN_PACKAGE.match(name):
                raise ValueError(f"{name!r} is not a Debian package name (e.g. libmagic1; versions come from the host)")
        return sorted(set(value))


FIXES = {
    "extra_forbidden": "remove it (allowed: {allowed})",
    "missing": "add it",
}


def describe(error: dict[str, Any], model: type[BaseModel]) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(top level)"
    fix = FIXES.get(error["type"], "")
    if error["type"] == "extra_forbidden":
        fix = fix.format(allowed=", ".join(allowed_fields(model, error["loc"][:-1])))
    message = error["msg"].removeprefix("Value error, ")
    return f"{location}: {message}" + (f"; fix: {fix}" if fix else "")


def allowed_fields(model: type[BaseModel], parent: tuple[Any, ...]) -> list[str]:
    if len(parent) > 2 and parent[0] == "samples":
        return list(HeaderRegex.model_fields)
    if parent and parent[0] == "samples":
        return list(Sample.model_fields)
    if parent and parent[0] == "base":
        return list(ExplicitBase.model_fields)
    if parent and parent[0] == "deploy":
        return list(DeploySpec.model_fields)
    if parent and parent[0] == "models":
        return list(ModelFolder.model_fields)
    return list(model.model_fields)


def load_spec(folder: Path) -> ImageSpec:
    path = folder / SPEC_FILE
    if not path.is_file():
        raise SpecError(f"{path}: not found; every image folder needs an {SPEC_FILE} (name, version, samples)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SpecError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields (name, version, samples, ...)")
    try:
        spec = ImageSpec.model_validate(data)
    except ValidationError as error:
        lines = [describe(item, ImageSpec) for item in error.errors()]
        raise SpecError(f"{path}:\n  " + "\n  ".join(lines)) from None
    return check_files(folder, spec)


def check_files(folder: Path, spec: ImageSpec) -> ImageSpec:
    """Every file image.yaml names exists; returns the spec with the Triton repository and conda pins resolved."""
    problems = []
    if not (folder / spec.entry_script).is_file():
        problems.append(f"entry_script: {spec.entry_script} not found in {folder}; add it or fix the field")
    if spec.dockerfile_template is not None and not (folder / spec.dockerfile_template).is_file():
        problems.append(f"dockerfile_template: {spec.dockerfile_template} not found in {folder}; add it or fix it")
    for index, model in enumerate(spec.models):
        if not (folder / model.path).is_dir():
            problems.append(
                f"models.{index}.path: {model.path} not found in {folder}; add the registered model folder or fix "
                "the path"
            )
    repository, repository_problems = resolve_repository(folder, spec)
    problems += repository_problems
    requirements = list(spec.requirements)
    if spec.conda_file is not None:
        conda_path = folder / spec.conda_file
        if conda_path.is_file():
            pip_lines, conda_problems = pip_requirements(conda_path)
            requirements += [line for line in pip_lines if line not in requirements]
            problems += conda_problems
        else:
            problems.append(f"conda_file: {spec.conda_file} not found in {folder}; add it or remove the field")
    for index, sample in enumerate(spec.samples):
        problems += sample_file_problems(folder, index, sample)
    if problems:
        raise SpecError(f"{folder / SPEC_FILE}:\n  " + "\n  ".join(problems))
    return spec.model_copy(update={"model_repository": repository, "requirements": requirements})


def resolve_repository(folder: Path, spec: ImageSpec) -> tuple[str, list[str]]:
    """The Triton repository's path in the image folder: declared, found in the model folders, or triton/."""
    if not spec.models:
        return spec.model_repository or LEGACY_REPOSITORY, []
    if spec.model_repository is not None:
        if owning_model(spec.models, spec.model_repository) is None:
            folders = ", ".join(model.path for model in spec.models)
            return spec.model_repository, [
                f"model_repository: {spec.model_repository} is not inside a model folder ({folders}); "
                "give its path inside one, e.g. models/triton"
            ]
        if not (folder / spec.model_repository).is_dir():
            return spec.model_repository, [
                f"model_repository: {spec.model_repository} not found in {folder}; fix the path or leave the field "
                "out to have the kit find the repository"
            ]
        return spec.model_repository, []
    candidates = find_repositories(folder, spec.models)
    if not candidates:
        return "", [
            "model_repository: no Triton model repository (<model>/<version>/) found in the model folders; "
            "add one or set model_repository to its path"
        ]
    shallowest = [path for path in candidates if path.count("/") == candidates[0].count("/")]
    if len(shallowest) > 1:
        return "", [f"model_repository: several Triton repositories found ({', '.join(shallowest)}); choose one"]
    return candidates[0], []
