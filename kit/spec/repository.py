"""Triton model repository checks: `<repo>/<model>/<integer version>/<model file>`, with obvious config mistakes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kit.errors import KitError
from kit.spec.bases import BaseProfile
from kit.spec.model_files import config_problems, onnx_problems

# Default model file (or folder) name -> the backend that serves it.
MODEL_FILES = {
    "model.onnx": "onnxruntime",
    "model.py": "python",
    "model.plan": "tensorrt",
    "model.pt": "pytorch",
    "model.savedmodel": "tensorflow",
    "model.graphdef": "tensorflow",
    "model.xml": "openvino",
}
PLATFORM_BACKENDS = {
    "onnxruntime_onnx": "onnxruntime",
    "tensorrt_plan": "tensorrt",
    "pytorch_libtorch": "pytorch",
    "tensorflow_savedmodel": "tensorflow",
    "tensorflow_graphdef": "tensorflow",
    "ensemble": "ensemble",
}
CPU_BACKENDS = {"onnxruntime", "python", "ensemble"}
# The file each backend looks for in a version folder unless config.pbtxt names another (default_model_filename).
BACKEND_FILES = {backend: name for name, backend in MODEL_FILES.items() if backend != "tensorflow"}
STEP_MODEL = re.compile(r'model_name\s*:\s*"([^"]+)"')
FIELD = re.compile(r"^\s*(name|platform|backend|max_batch_size|default_model_filename)\s*:\s*(.+?)\s*$", re.MULTILINE)


class RepositoryError(KitError):
    pass


@dataclass(frozen=True)
class ModelEntry:
    name: str
    backend: str
    versions: tuple[int, ...]
    steps: tuple[str, ...] = ()  # the models an ensemble calls


def config_fields(text: str) -> dict[str, str]:
    """Top-level scalar fields of a config.pbtxt (enough to catch obvious mistakes, not a protobuf parser)."""
    depth, top_level = 0, []
    for line in text.splitlines():
        if depth == 0:
            top_level.append(line)
        depth += line.count("{") + line.count("[") - line.count("}") - line.count("]")
    return {key: value.strip('"') for key, value in FIELD.findall("\n".join(top_level))}


def check_config(model_dir: Path, file_backend: str | None, problems: list[str]) -> str | None:
    path = model_dir / "config.pbtxt"
    if not path.exists():
        return file_backend
    problems += config_problems(path)
    text = path.read_text(errors="replace")
    if text.count("{") != text.count("}") or text.count("[") != text.count("]"):
        problems.append(f"{path}: unbalanced braces or brackets")
    fields = config_fields(text)
    if "name" in fields and fields["name"] != model_dir.name:
        problems.append(f"{path}: name {fields['name']!r} differs from the folder {model_dir.name!r}; make them equal")
    if "max_batch_size" in fields and not re.fullmatch(r"\d+", fields["max_batch_size"]):
        problems.append(f"{path}: max_batch_size must be a non-negative integer, got {fields['max_batch_size']!r}")
    backend = fields.get("backend") or PLATFORM_BACKENDS.get(fields.get("platform", ""))
    if "platform" in fields and fields["platform"] not in PLATFORM_BACKENDS:
        problems.append(f"{path}: unknown platform {fields['platform']!r}")
    if backend and file_backend and backend != file_backend and "default_model_filename" not in fields:
        problems.append(f"{path}: says backend {backend!r} but the version folders hold a {file_backend} model file")
    if backend == "ensemble" and "ensemble_scheduling" not in text:
        problems.append(f'{path}: platform "ensemble" needs an ensemble_scheduling {{ step [ ... ] }} block')
    return backend or file_backend


def check_version_files(model_dir: Path, backend: str | None, versions: list[int], problems: list[str]) -> None:
    """What Triton loads from each version folder: nothing for an ensemble (the folder may be empty), else the
    backend's default file or the one config.pbtxt names."""
    if backend == "ensemble":
        return
    config = model_dir / "config.pbtxt"
    named = config_fields(config.read_text(errors="replace")).get("default_model_filename") if config.exists() else None
    wanted = named or BACKEND_FILES.get(backend or "")
    for version in versions:
        version_dir = model_dir / str(version)
        if named and not (version_dir / named).exists():
            problems.append(f"{version_dir}: config.pbtxt names default_model_filename {named!r}; put that file here")
        elif not named and wanted and not (version_dir / wanted).exists() and config.exists():
            problems.append(f"{version_dir}: the {backend} backend loads {wanted} from here; add it")


def check_model(model_dir: Path, problems: list[str]) -> ModelEntry | None:
    entries = sorted(model_dir.iterdir())
    version_dirs = [entry for entry in entries if entry.is_dir()]
    misnamed = [entry.name for entry in version_dirs if not entry.name.isdigit()]
    for name in misnamed:
        problems.append(f"{model_dir / name}: version folders must be integers (e.g. {model_dir.name}/1/)")
    versions = sorted(int(entry.name) for entry in version_dirs if entry.name.isdigit())
    if not versions and not misnamed:
        problems.append(f"{model_dir}: no version folder; put the model file in {model_dir.name}/1/")
    file_backends = set()
    for version in versions:
        version_dir = model_dir / str(version)
        found = [MODEL_FILES[item.name] for item in sorted(version_dir.iterdir()) if item.name in MODEL_FILES]
        for onnx_file in sorted(version_dir.glob("*.onnx")):
            if onnx_file.is_file():
                problems.extend(onnx_problems(onnx_file))
        if not found and not (model_dir / "config.pbtxt").exists():
            names = ", ".join(sorted(MODEL_FILES))
            problems.append(f"{version_dir}: no model file Triton recognises ({names})")
        file_backends.update(found)
    file_backend = sorted(file_backends)[0] if len(file_backends) == 1 else None
    if len(file_backends) > 1:
        problems.append(f"{model_dir}: versions hold different model kinds ({', '.join(sorted(file_backends))})")
    backend = check_config(model_dir, file_backend, problems)
    check_version_files(model_dir, backend, versions, problems)
    steps = ()
    if backend == "ensemble":
        steps = tuple(STEP_MODEL.findall((model_dir / "config.pbtxt").read_text(errors="replace")))
    return ModelEntry(model_dir.name, backend or "unknown", tuple(versions), steps) if versions else None


def check_repository(repository: Path, profile: BaseProfile) -> list[ModelEntry]:
    """Every model in `repository`; raises with every problem found (nothing is built if any)."""
    if not repository.is_dir():
        raise RepositoryError(f"{repository}: model repository not found; create it as {repository.name}/<model>/1/")
    problems: list[str] = []
    models = []
    model_dirs = [entry for entry in sorted(repository.iterdir()) if not entry.name.startswith(".")]
    for entry in model_dirs:
        if not entry.is_dir():
            problems.append(
                f"{entry}: stray file in the repository root; models are folders ({entry.parent.name}/<model>/)"
            )
            continue
        model = check_model(entry, problems)
        if model is not None:
            models.append(model)
    if not model_dirs:
        problems.append(f"{repository}: empty; add at least one <model>/1/<model file>")
    names = {model.name for model in models}
    for model in models:
        for step in model.steps:
            if step not in names:
                problems.append(
                    f"{repository / model.name / 'config.pbtxt'}: ensemble step model_name {step!r} is not in the "
                    f"repository; add {repository.name}/{step}/ or correct the name"
                )
        if model.backend == "unknown":
            problems.append(
                f"{repository / model.name}: no model file tells which backend serves it; put one of "
                f"{', '.join(sorted(MODEL_FILES))} in {model.name}/<version>/ or set backend: in its config.pbtxt"
            )
        elif profile.name == "cpu" and model.backend not in CPU_BACKENDS:
            problems.append(
                f"{repository / model.name}: the cpu base serves onnxruntime, python and ensemble models, "
                f"not {model.backend}; "
                "use BASE=ngc-20.09 for it"
            )
        if model.backend == "python" and not profile.has_python_backend:
            problems.append(f"{repository / model.name}: the {profile.name} base has no python backend; use BASE=cpu")
    if problems:
        raise RepositoryError("model repository problems:\n  " + "\n  ".join(problems))
    return models
