"""Paths that must stay inside the image folder: fields of image.yaml and the symlinks in the folder.

A symlink whose target lies inside the folder is followed (its target is copied); one that dangles, loops or
points outside is an error naming it, so no file of the host reaches the image.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from kit.spec.ignore import IgnoreRules

MAX_FILES = 200_000  # a folder that large is almost surely a mistake (a venv or dataset): name it instead of hanging


def shown(path: Path | str) -> str:
    """A path printable on any terminal and in JSON (undecodable bytes of odd file names become escapes)."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def field_path_problem(folder: Path, field: str, value: str, kind: str = "file") -> str | None:
    """Why `value` (a path from image.yaml) is not inside `folder`, or None."""
    pure = PurePosixPath(value)
    fix = f"give a path inside the folder, e.g. {'score.py' if kind == 'file' else 'models'}, and copy the {kind} in"
    if not value or "\x00" in value:
        return f"{field}: {value!r} is not a path; {fix}"
    if pure.is_absolute() or ".." in pure.parts:
        return f"{field}: {value} leaves the image folder {shown(folder)}; {fix}"
    try:
        resolved = (folder / value).resolve()
    except (OSError, RuntimeError):
        return f"{field}: {value} cannot be resolved (a symlink loop?); {fix}"
    if not resolved.is_relative_to(folder.resolve()):
        return f"{field}: {value} is a symlink to {shown(resolved)}, outside the image folder; {fix}"
    return None


def symlink_problems(folder: Path, ignore: IgnoreRules) -> list[str]:
    """Every symlink under `folder` (ignored paths left out) that dangles, loops or points outside."""
    root = folder.resolve()
    problems: list[str] = []
    count = 0
    for current, dirs, files in os.walk(folder, followlinks=False):
        base = Path(current)
        dirs[:] = sorted(name for name in dirs if not ignore.ignored(base / name))
        for name in sorted([*dirs, *files]):
            path = base / name
            count += 1
            if count > MAX_FILES:
                return [
                    *problems,
                    f"{shown(folder)}: more than {MAX_FILES} files; list large folders (venv/, data/) in .amlignore",
                ]
            if ignore.ignored(path):
                continue
            if not is_utf8(name):
                problems.append(f"{shown(path)}: the file name is not UTF-8; rename it")
                continue
            if not path.is_symlink():
                continue
            target = os.readlink(path)
            try:
                resolved = path.resolve(strict=True)
            except FileNotFoundError:
                problems.append(
                    f"{shown(path)}: dangling symlink (to {shown(target)}); remove it or restore its target"
                )
                continue
            except (OSError, RuntimeError):
                problems.append(f"{shown(path)}: symlink loop (to {shown(target)}); remove it")
                continue
            if not resolved.is_relative_to(root):
                problems.append(
                    f"{shown(path)}: symlink to {shown(resolved)}, outside the image folder; copy that file into the "
                    "folder instead (or list the link in .amlignore)"
                )
    return problems


def is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
