"""Code that runs inside images parses on the in-image Python floor, stated once (scoring/ruff.toml's
target-version), and every base profile runs the scoring app and python-backend models at or above it."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from kit import PROJECT_ROOT
from kit.spec.bases import PROFILES, BaseProfile

IN_IMAGE_FOLDERS = ("scoring", "backends", "images")
IN_IMAGE = sorted(path for folder in IN_IMAGE_FOLDERS for path in (PROJECT_ROOT / folder).rglob("*.py"))


def version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def in_image_floor() -> tuple[int, int]:
    target = tomllib.loads((PROJECT_ROOT / "scoring" / "ruff.toml").read_text())["target-version"]  # e.g. "py311"
    return 3, int(target.removeprefix("py3"))


@pytest.mark.parametrize("path", IN_IMAGE, ids=lambda path: str(path.relative_to(PROJECT_ROOT)))
def test_parses_on_the_in_image_python_floor(path: Path) -> None:
    ast.parse(path.read_text(), filename=str(path), feature_version=in_image_floor())


def test_there_is_in_image_code() -> None:
    assert len(IN_IMAGE) >= 10


@pytest.mark.parametrize("profile", sorted(PROFILES.values(), key=lambda p: p.name), ids=lambda p: p.name)
def test_every_profile_runs_in_image_code_at_or_above_the_floor(profile: BaseProfile) -> None:
    assert version(profile.scoring_python_version) >= in_image_floor()
    if profile.has_python_backend:  # python-backend models run on the base's own Python
        assert version(profile.python_version) >= in_image_floor()


@pytest.mark.parametrize("folder", ["images", "backends"])
def test_other_in_image_folders_take_the_floor_from_scoring(folder: str) -> None:
    config = tomllib.loads((PROJECT_ROOT / folder / "ruff.toml").read_text())
    assert config == {"extend": "../scoring/ruff.toml"}  # no target-version of their own
