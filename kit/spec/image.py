"""images/<name>/image.yaml, validated with pydantic: errors name the file, the field and the fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from kit.errors import KitError
from kit.spec.bases import AUTO, PROFILES
from kit.spec.conda import pip_requirements
from kit.spec.entry_script import entry_script_problems
from kit.spec.environment import environment_value, settings_problems
from kit.spec.folder_paths import field_path_problem, shown, symlink_problems
from kit.spec.ignore import IgnoreRules
from kit.spec.model_folders import ModelFolder, find_repositories, owning_model
from kit.spec.requirements import requirement_file_lines, split_replaced
from kit.spec.samples import (
    HeaderRegex,
    Sample,
    sample_content_problems,
    sample_expected,
    sample_file_problems,
    sample_request,
)
from kit.spec.text_files import TextFileError, load_yaml, read_text

__all__ = ["ImageSpec", "Sample", "SpecError", "load_spec", "sample_expected", "sample_request"]

SPEC_FILE = "image.yaml"
SCHEMA_VERSION = 1
NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
NAME_MAX = 128  # Docker allows 255 for the whole reference; leave room for a registry and a namespace
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


def checked_name(name: str) -> str:
    """An image name given on the command line (init --name), checked as image.yaml's name: is."""
    if len(name) > NAME_MAX or not NAME.match(name):
        raise SpecError(
            f"--name {name!r}: use lower-case letters, digits and . _ - (a Docker repository name, at most "
            f"{NAME_MAX} characters), e.g. digits-onnx"
        )
    return name


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
    name: str = Field(description="the Docker repository name, e.g. digits-onnx")
    version: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    base: str | ExplicitBase = AUTO
    entry_script: str = "score.py"
    # Registered model folders (Azure ML layout under AZUREML_MODEL_DIR); without them, triton/ beside score.py.
    models: list[ModelFolder] = Field(default_factory=list)
    # The Triton repository (path in the image folder); found inside `models` when not given.
    model_repository: str | None = None
    requirements: list[str] | str = Field(
        default_factory=list, description="pip requirement lines, or the path of a requirements.txt in the folder"
    )
    conda_file: str | None = Field(default=None, description="an Azure ML conda environment file; its pip: section")
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="ENV of the image: strings, numbers or true/false",
        json_schema_extra={"additionalProperties": {"type": ["string", "number", "boolean"]}},
    )
    samples: list[Sample] = Field(min_length=1)
    registries: list[str] = Field(default_factory=list)
    deploy: DeploySpec = Field(default_factory=DeploySpec)
    dockerfile_template: str | None = Field(
        default=None, description="a Jinja template in the image folder that {% extends 'image/Dockerfile.j2' %}"
    )
    system_packages: list[str] = Field(default_factory=list, description="Debian packages (cpu base)")
    schema_version: int = Field(
        default=SCHEMA_VERSION, description="the image.yaml format version; this kit reads version 1"
    )
    # Requirements the kit dropped because its runtime replaces them (named once in the build's output).
    _dropped: tuple[str, ...] = PrivateAttr(default=())

    @property
    def dropped_requirements(self) -> tuple[str, ...]:
        return self._dropped

    @field_validator("schema_version")
    @classmethod
    def known_schema(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"schema_version {value} is not known to this kit (it reads {SCHEMA_VERSION}); set 1")
        return value

    @field_validator("name")
    @classmethod
    def docker_name(cls, value: str) -> str:
        if len(value) > NAME_MAX:
            raise ValueError(f"{len(value)} characters is too long; use at most {NAME_MAX}")
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
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("write a mapping of NAME: value lines, e.g. WORKER_COUNT: 2")
        problems, converted = [], {}
        for key, item in value.items():
            try:
                converted[str(key)] = environment_value(str(key), item)
            except ValueError as error:
                problems.append(str(error))
        if problems:
            raise ValueError("\n  environment: ".join(problems))
        return converted

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
        problems += settings_problems(value) if not problems else []
        if problems:
            raise ValueError("\n  environment: ".join(problems))
        return value

    @field_validator("requirements")
    @classmethod
    def requirement_lines(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list):
            for line in value:
                if not line.strip() or "\n" in line:
                    raise ValueError(f"{line!r} is not one requirement; write one per list item, e.g. pillow==12.3.0")
        return value

    @field_validator("models")
    @classmethod
    def distinct_models(cls, value: list[ModelFolder]) -> list[ModelFolder]:
        names = [model.registered_name for model in value]
        folders = [model.path for model in value]
        if len(set(names)) != len(names) or len(set(folders)) != len(folders):
            raise ValueError("each model folder and registered name may appear once; remove the duplicate")
        if len({model.mount for model in value}) > 1:
            raise ValueError(
                "mount: set it on every model folder or on none (an image either holds its models or has them all "
                "mounted at start, so one AZUREML_MODEL_DIR layout serves every platform)"
            )
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
    "string_type": 'write it as text; quote values that YAML reads as numbers, dates or null, e.g. "1.0"',
    "list_type": "write a YAML list (one `- item` per line)",
    "dict_type": "write a mapping (key: value lines)",
    "int_type": "write a whole number",
    "int_parsing": "write a whole number",
    "int_from_float": "write a whole number",
    "float_type": "write a number",
    "float_parsing": "write a number",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "greater_than_equal": "raise it",
    "less_than_equal": "lower it",
    "too_short": "add at least one item",
    "string_pattern_mismatch": "use letters, digits and . _ - only (at most 128 characters), e.g. 1.0.0",
    "literal_error": "use one of the values named",
    "model_type": "write a mapping (key: value lines)",
    "union_tag_invalid": "write a mapping (key: value lines)",
}


def describe(error: dict[str, Any], model: type[BaseModel]) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(top level)"
    fix = FIXES.get(error["type"], "")
    if error["type"] == "extra_forbidden":
        fix = fix.format(allowed=", ".join(allowed_fields(model, error["loc"][:-1])))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch":
        message = "does not match the allowed form"
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
        raise SpecError(
            f"{shown(path)}: not found; every image folder needs an {SPEC_FILE} (name, version, samples); "
            "`triton-kit init FOLDER` writes one"
        )
    try:
        data = load_yaml(read_text(path), shown(path))
    except TextFileError as error:
        raise SpecError(str(error)) from None
    if not isinstance(data, dict):
        raise SpecError(
            f"{shown(path)}: expected a mapping of fields (name, version, samples, ...); see docs/command.md"
        )
    try:
        spec = ImageSpec.model_validate(data)
    except ValidationError as error:
        lines = [describe(item, ImageSpec) for item in error.errors()]
        raise SpecError(f"{shown(path)}:\n  " + "\n  ".join(lines)) from None
    except RecursionError:
        raise SpecError(f"{shown(path)}: nested too deeply to read; simplify it") from None
    return check_files(folder, spec)


def check_files(folder: Path, spec: ImageSpec) -> ImageSpec:
    """Every file image.yaml names exists; returns the spec with the Triton repository and conda pins resolved."""
    ignore = IgnoreRules(folder)
    problems = [*ignore.problems, *path_problems(folder, spec)]
    if problems:  # a path outside the folder is never opened
        raise SpecError(f"{shown(folder / SPEC_FILE)}:\n  " + "\n  ".join(problems))
    problems += symlink_problems(folder, ignore)
    entry = folder / spec.entry_script
    if not entry.is_file():
        problems.append(f"entry_script: {spec.entry_script} not found in {shown(folder)}; add it or fix the field")
    else:
        problems += entry_script_problems(entry)
    if spec.dockerfile_template is not None and not (folder / spec.dockerfile_template).is_file():
        problems.append(f"dockerfile_template: {spec.dockerfile_template} not found in {folder}; add it or fix it")
    for index, model in enumerate(spec.models):
        if not (folder / model.path).is_dir():
            problems.append(
                f"models.{index}.path: {model.path} not found in {shown(folder)}; add the registered model folder or "
                "fix the path"
            )
    repository, repository_problems = resolve_repository(folder, spec)
    problems += repository_problems
    requirements, dropped, requirement_problems = resolve_requirements(folder, spec)
    problems += requirement_problems
    for index, sample in enumerate(spec.samples):
        found = sample_file_problems(folder, index, sample)
        problems += found or sample_content_problems(folder, index, sample)
    if problems:
        raise SpecError(f"{shown(folder / SPEC_FILE)}:\n  " + "\n  ".join(problems))
    resolved = spec.model_copy(update={"model_repository": repository, "requirements": requirements})
    resolved._dropped = tuple(dropped)
    return resolved


def path_problems(folder: Path, spec: ImageSpec) -> list[str]:
    """Every path image.yaml names must stay inside the folder (after symlinks are followed)."""
    fields: list[tuple[str, str | None, str]] = [
        ("entry_script", spec.entry_script, "file"),
        ("model_repository", spec.model_repository, "folder"),
        ("conda_file", spec.conda_file, "file"),
        ("dockerfile_template", spec.dockerfile_template, "file"),
        ("requirements", spec.requirements if isinstance(spec.requirements, str) else None, "file"),
    ]
    fields += [(f"models.{index}.path", model.path, "folder") for index, model in enumerate(spec.models)]
    for index, sample in enumerate(spec.samples):
        fields += [(f"samples.{index}.request_file", sample.request_file, "file")]
        fields += [(f"samples.{index}.expected_file", sample.expected_file, "file")]
    problems = []
    for field, value, kind in fields:
        if value is not None:
            problem = field_path_problem(folder, field, value, kind)
            if problem:
                problems.append(problem)
    return problems


def resolve_requirements(folder: Path, spec: ImageSpec) -> tuple[list[str], list[str], list[str]]:
    """(requirements, dropped package names, problems): the list or file, then the conda file's pip: section,
    without the packages the kit's runtime replaces."""
    problems: list[str] = []
    if isinstance(spec.requirements, str):
        path = folder / spec.requirements
        if path.is_file():
            lines, file_problems = requirement_file_lines(path, "requirements")
            problems += file_problems
        else:
            lines = []
            problems.append(f"requirements: {spec.requirements} not found in {shown(folder)}; add it or fix the path")
    else:
        lines = list(spec.requirements)
    if spec.conda_file is not None:
        conda_path = folder / spec.conda_file
        if conda_path.is_file():
            pip_lines, conda_problems = pip_requirements(conda_path)
            lines += [line for line in pip_lines if line not in lines]
            problems += conda_problems
        else:
            problems.append(f"conda_file: {spec.conda_file} not found in {shown(folder)}; add it or remove the field")
    kept, dropped = split_replaced(lines)
    return kept, dropped, problems


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
