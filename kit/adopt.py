"""`triton-kit init FOLDER` on an existing Azure ML project: write image.yaml beside the user's files (never over
one) from what the folder holds, and say what was inferred and what is left to fill in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.context.templates import render
from kit.errors import KitError
from kit.spec.entry_script import entry_script_problems
from kit.spec.folder_paths import shown
from kit.spec.ignore import IgnoreRules
from kit.spec.image import NAME_MAX, SCHEMA_VERSION, SPEC_FILE, checked_name
from kit.spec.model_folders import ModelFolder, find_repositories, looks_like_repository
from kit.spec.requirements import REPLACED_BY_KIT, requirement_file_lines, split_replaced

CONDA_FILES = ("environment.yml", "environment.yaml", "conda.yml", "conda.yaml", "conda_env.yml")
REQUIREMENT_FILES = ("requirements.txt",)
SAMPLE_SUFFIXES = {".json": None, ".png": "application/octet-stream", ".jpg": "application/octet-stream",
                   ".jpeg": "application/octet-stream", ".bin": "application/octet-stream"}  # fmt: skip
MAX_SAMPLES = 3


class AdoptError(KitError):
    pass


@dataclass
class Adoption:
    folder: Path
    name: str
    entry_script: str = "score.py"
    models: list[str] = field(default_factory=list)
    model_repository: str | None = None
    requirements: str | None = None
    conda_file: str | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    inferred: list[str] = field(default_factory=list)
    to_fill_in: list[str] = field(default_factory=list)


def docker_name(text: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:NAME_MAX].strip("-")
    return cleaned or "scoring-image"


def find_entry_script(folder: Path) -> str | None:
    if (folder / "score.py").is_file():
        return "score.py"
    for path in sorted(folder.glob("*.py")):
        if path.is_file() and not entry_script_problems(path):
            return path.name
    return None


def find_models(folder: Path) -> tuple[list[str], str | None]:
    """Registered model folders under models/ (each named after its folder), and the Triton repository when it
    is not one the kit finds itself; or the kit's own triton/ layout."""
    root = folder / "models"
    if root.is_dir() and not root.is_symlink():
        children = sorted(child for child in root.iterdir() if child.is_dir() and not child.name.startswith("."))
        if looks_like_repository(root) or any(looks_like_repository(child) for child in children) or not children:
            return ["models"], None
        return [f"models/{child.name}" for child in children], None
    if (folder / "triton").is_dir():
        return [], "triton"
    return [], None


def find_samples(folder: Path, ignore: IgnoreRules) -> list[dict[str, Any]]:
    candidates = []
    for directory in (folder / "samples", folder / "sample-requests", folder):
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            wanted = directory != folder or "request" in path.name.lower() or path.name.startswith("sample")
            if path.is_file() and path.suffix.lower() in SAMPLE_SUFFIXES and wanted and not ignore.ignored(path):
                if "expected" in path.name.lower() or path.name in CONDA_FILES:
                    continue
                candidates.append(path)
    samples = []
    for path in candidates[:MAX_SAMPLES]:
        stem = docker_name(path.stem)
        samples.append({"name": stem, "file": path.relative_to(folder).as_posix(),
                        "content_type": SAMPLE_SUFFIXES[path.suffix.lower()]})  # fmt: skip
    return samples


def infer(folder: Path, name: str | None) -> Adoption:
    adoption = Adoption(folder, checked_name(name) if name else docker_name(folder.resolve().name))
    ignore = IgnoreRules(folder)
    entry = find_entry_script(folder)
    if entry is None:
        adoption.to_fill_in.append("entry_script: no score.py (or .py file with init() and run()) found; add one")
    else:
        adoption.entry_script = entry
        adoption.inferred.append(f"entry_script: {entry}")
    adoption.models, adoption.model_repository = find_models(folder)
    if adoption.models:
        found = find_repositories(folder, [ModelFolder(path=path) for path in adoption.models])
        names = ", ".join(f"{path} (registered as {Path(path).name})" for path in adoption.models)
        adoption.inferred.append(f"models: {names}")
        if found:
            adoption.inferred.append(f"Triton model repository: {found[0]}")
        else:
            adoption.to_fill_in.append("a Triton model repository (<model>/<version>/<file>) in the model folders")
    elif adoption.model_repository:
        adoption.inferred.append(f"model_repository: {adoption.model_repository}")
    else:
        adoption.to_fill_in.append("models: no models/ folder (registered model folders) or triton/ found")
    for candidate in REQUIREMENT_FILES:
        if (folder / candidate).is_file():
            adoption.requirements = candidate
            lines, _ = requirement_file_lines(folder / candidate, "requirements")
            dropped = split_replaced(lines)[1]
            note = f" (dropped: {', '.join(dropped)})" if dropped else ""
            adoption.inferred.append(f"requirements: {candidate}{note}")
    for candidate in CONDA_FILES:
        if (folder / candidate).is_file():
            adoption.conda_file = candidate
            adoption.inferred.append(f"conda_file: {candidate} (its pip: section)")
            break
    for ignore_file in (".amlignore", ".dockerignore"):
        if (folder / ignore_file).is_file():
            adoption.inferred.append(f"{ignore_file}: honoured when the folder is copied into the image")
    adoption.samples = find_samples(folder, ignore)
    if adoption.samples:
        files = ", ".join(sample["file"] for sample in adoption.samples)
        adoption.inferred.append(f"samples: {files}")
        adoption.to_fill_in.append("samples: the expected answer of each sample (any 200 answer passes as written)")
    else:
        adoption.to_fill_in.append("samples: at least one request and its expected answer (the smoke test)")
    return adoption


def adopt(folder: Path, name: str | None = None) -> Adoption:
    """Write folder/image.yaml from what the folder holds; never overwrite a file."""
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise AdoptError(
            f"{shown(folder)}: {what}; give your Azure ML project folder, or --model model.onnx for a new one"
        )
    target = folder / SPEC_FILE
    if target.exists() or target.is_symlink():
        raise AdoptError(
            f"{shown(target)}: exists; init never overwrites a file: check it with `triton-kit validate "
            f"{shown(folder)}` or move it away first"
        )
    adoption = infer(folder, name)
    text = render(
        "scaffold/adopted.image.yaml.j2",
        schema_version=SCHEMA_VERSION,
        name=adoption.name,
        entry_script=adoption.entry_script,
        models=adoption.models,
        model_repository=adoption.model_repository,
        requirements=adoption.requirements,
        conda_file=adoption.conda_file,
        samples=adoption.samples,
    )
    try:
        with open(target, "x", encoding="utf-8") as handle:  # "x": fails rather than overwrite
            handle.write(text)
    except OSError as error:
        raise AdoptError(
            f"{shown(target)}: cannot be written ({error.strerror}); check the folder's permissions"
        ) from None
    return adoption


__all__ = ["REPLACED_BY_KIT", "Adoption", "adopt"]
