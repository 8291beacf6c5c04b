"""Code that runs inside images must parse on the oldest in-image Python (3.9)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kit import PROJECT_ROOT

IN_IMAGE_FOLDERS = ("scoring", "backends", "images")
IN_IMAGE = sorted(path for folder in IN_IMAGE_FOLDERS for path in (PROJECT_ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", IN_IMAGE, ids=lambda path: str(path.relative_to(PROJECT_ROOT)))
def test_parses_as_python_3_9(path: Path) -> None:
    ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))


def test_there_is_in_image_code() -> None:
    assert len(IN_IMAGE) >= 10
