"""The registered model folders of a `mount: true` image, staged for a container as Azure ML attaches them: a snapshot
of the files (hard links where the file is already readable by all, else a copy made readable by all), each folder
bound read-only at its mount point, and the digests of exactly the files the container saw."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.spec.image import ImageSpec
from kit.spec.model_digests import MountedModel, file_digest, model_files
from kit.spec.model_folders import mount_point, mounted

READABLE_BY_ALL = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


@dataclass(frozen=True)
class StagedMounts:
    """docker run `volumes` entries (read-only binds) and the mounted models with their file digests."""

    volumes: dict[str, dict[str, str]]
    models: list[MountedModel]


def place(source: Path, target: Path) -> None:
    """A hard link when the file is readable by any uid already (no copy of a large model), else a readable copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, 0o755)
    if source.stat().st_mode & READABLE_BY_ALL == READABLE_BY_ALL:
        try:
            os.link(source.resolve(), target)
            return
        except OSError:
            pass
    shutil.copyfile(source, target)
    os.chmod(target, 0o644)


@contextmanager
def staged_mounts(folder: Path, spec: ImageSpec, prefix: str = "triton-kit-models") -> Iterator[StagedMounts]:
    """Nothing to mount (empty StagedMounts) unless the image's models are `mount: true`."""
    if not mounted(spec.models):
        yield StagedMounts({}, [])
        return
    staging = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    try:
        volumes: dict[str, dict[str, str]] = {}
        models = []
        for index, model in enumerate(spec.models):
            root = staging / str(index) / model.folder_name
            root.mkdir(parents=True)
            os.chmod(root, 0o755)
            files = {}
            for relative in model_files(folder, model):
                place(folder / model.path / relative, root / relative)
                files[relative.as_posix()] = file_digest(root / relative)
            volumes[str(root)] = {"bind": mount_point(model), "mode": "ro"}
            models.append(MountedModel(model.registered_name, model.version, model.path, files))
        yield StagedMounts(volumes, models)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def direct_volumes(folder: Path, spec: ImageSpec) -> dict[str, Any]:
    """The user's folders bound read-only as they are (`make run`): the same mount points as the smoke test's."""
    if not mounted(spec.models):
        return {}
    return {str((folder / model.path).resolve()): {"bind": mount_point(model), "mode": "ro"} for model in spec.models}
