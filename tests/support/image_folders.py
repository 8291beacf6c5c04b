"""A writable copy of an example image folder, and edits of its image.yaml, for spec and manifest tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from kit import PROJECT_ROOT

EXAMPLE = PROJECT_ROOT / "images" / "mlp-classifier"


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder)
    return folder


def edit(folder: Path, **changes: object) -> None:
    """Set fields of folder/image.yaml; a value of None removes the field."""
    path = folder / "image.yaml"
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data))
