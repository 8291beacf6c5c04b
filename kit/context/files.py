"""Placing files into build contexts: hard links where the file system allows (wheels are large), else copies;
and copying the user's folder: symlinks inside it are followed (their targets are copied), the folder's
.amlignore/.dockerignore patterns are honoured, caches and dotfiles stay out, in sorted order (repeatable renders).
Validation (kit/spec/folder_paths.py) has already refused symlinks that dangle or point outside the folder."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

SKIPPED = ("__pycache__", ".pytest_cache")


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def skipped(relative: Path) -> bool:
    return any(part in SKIPPED or part.startswith(".") for part in relative.parts) or relative.suffix == ".pyc"


def copy_tree(
    source: Path,
    target: Path,
    exclude: set[Path] | None = None,
    ignored: Callable[[Path], bool] | None = None,
) -> None:
    """Copy `source` to `target`, following symlinks (a link back to a folder above it is not entered again, so a
    cycle ends), skipping caches, dotfiles, `exclude`d paths and what `ignored` says."""
    copy_folder(source, source, target, exclude or set(), ignored, (os.path.realpath(source),))


def copy_folder(
    root: Path,
    folder: Path,
    target: Path,
    exclude: set[Path],
    ignored: Callable[[Path], bool] | None,
    ancestors: tuple[str, ...],
) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.iterdir()):
        if not keep(root, path, exclude, ignored):
            continue
        destination = target / path.name
        if path.is_dir():
            real = os.path.realpath(path)
            if real not in ancestors:
                copy_folder(root, path, destination, exclude, ignored, (*ancestors, real))
        elif path.exists():
            shutil.copyfile(path, destination)  # follows a symlink: the target's bytes, as a regular file


def keep(source: Path, path: Path, exclude: set[Path], ignored: Callable[[Path], bool] | None) -> bool:
    if path in exclude or skipped(path.relative_to(source)):
        return False
    return not (ignored is not None and ignored(path))


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
