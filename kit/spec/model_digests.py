"""The files of mounted model folders and their SHA-256 digests: what the smoke test mounted, written into the tested
record and named by the manifests, so `make manifests` can tell when the folder attached now differs from it.

A folder's files are chosen as the build context chooses a baked folder's (kit/context/files.py): symlinks followed,
dotfiles and caches left out, the image folder's .amlignore/.dockerignore honoured.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from kit.spec.ignore import IgnoreRules
from kit.spec.model_folders import ModelFolder

SKIPPED = ("__pycache__", ".pytest_cache")
CHUNK = 1 << 20


@dataclass(frozen=True)
class MountedModel:
    """One mounted registered folder as the smoke test used it: file path (relative to the folder) -> sha256 hex."""

    name: str
    version: int
    path: str
    files: dict[str, str]

    @property
    def digest(self) -> str:
        """One digest for the whole folder: over its sorted `sha256  path` lines (as sha256sum prints them)."""
        lines = "".join(f"{digest}  {path}\n" for path, digest in sorted(self.files.items()))
        return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()

    def as_record(self) -> dict[str, object]:
        return {"version": self.version, "path": self.path, "digest": self.digest, "files": dict(self.files)}

    @classmethod
    def from_record(cls, name: str, data: dict[str, object]) -> MountedModel:
        files = data.get("files", {})
        assert isinstance(files, dict)
        return cls(name, int(str(data.get("version", 1))), str(data.get("path", "")), dict(files))


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def model_files(image_folder: Path, model: ModelFolder) -> list[Path]:
    """The files of one registered folder that a build would copy (sorted, relative to the folder)."""
    root = image_folder / model.path
    ignore = IgnoreRules(image_folder)
    found: list[Path] = []

    def walk(folder: Path, seen: tuple[str, ...]) -> None:
        for path in sorted(folder.iterdir()):
            relative = path.relative_to(root)
            if any(part in SKIPPED or part.startswith(".") for part in relative.parts) or path.suffix == ".pyc":
                continue
            if ignore.ignored(path):
                continue
            if path.is_dir():
                real = str(path.resolve())
                if real not in seen:
                    walk(path, (*seen, real))
            elif path.is_file():
                found.append(relative)

    walk(root, (str(root.resolve()),))
    return found


def mounted_model(image_folder: Path, model: ModelFolder) -> MountedModel:
    root = image_folder / model.path
    files = {relative.as_posix(): file_digest(root / relative) for relative in model_files(image_folder, model)}
    return MountedModel(model.registered_name, model.version, model.path, files)


def mounted_models(image_folder: Path, models: list[ModelFolder]) -> list[MountedModel]:
    return [mounted_model(image_folder, model) for model in models if model.mount]


def differences(recorded: list[MountedModel], current: list[MountedModel]) -> list[str]:
    """How the folders attached now differ from the ones the smoke test used (one line per model)."""
    before = {model.name: model for model in recorded}
    lines = []
    for model in current:
        tested = before.pop(model.name, None)
        if tested is None:
            lines.append(f"{model.name}: not in the tested record (the smoke test mounted no such model)")
            continue
        if tested.digest == model.digest and tested.version == model.version:
            continue
        old, new = tested.files, model.files
        changed = sorted(path for path in new if path in old and old[path] != new[path])
        added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
        kinds = (("changed", changed), ("added", added), ("removed", removed))
        parts = [f"{label} {', '.join(paths[:3])}{' ...' if len(paths) > 3 else ''}" for label, paths in kinds if paths]
        if tested.version != model.version:
            parts.append(f"version {tested.version} -> {model.version}")
        lines.append(
            f"{model.name} ({model.path}): {'; '.join(parts)} (tested {tested.digest[:19]}, now {model.digest[:19]})"
        )
    lines += [f"{name}: tested, but no longer mounted" for name in before]
    return lines
