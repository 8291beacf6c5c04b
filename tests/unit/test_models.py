"""`make models` is reproducible: regenerating gives byte-identical model files and expected outputs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kit import PROJECT_ROOT
from models import make_models


def committed_files(folder: str) -> list[str]:
    result = subprocess.run(["git", "ls-files", folder], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_regenerating_examples_gives_identical_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "images"
    shutil.copytree(PROJECT_ROOT / "images", copy, ignore=shutil.ignore_patterns("model.onnx", "*expected*.json"))
    monkeypatch.setattr(make_models, "IMAGES", copy)
    make_models.main([])
    tracked = [path for path in committed_files("images") if path.endswith((".onnx", ".json"))]
    assert any(path.endswith(".onnx") for path in tracked) and any("expected" in path for path in tracked)
    for relative in tracked:
        regenerated = copy / Path(relative).relative_to("images")
        assert regenerated.read_bytes() == (PROJECT_ROOT / relative).read_bytes(), relative
    heavy = copy / "heavy-mlp" / "triton" / "heavy_mlp" / "1" / "model.onnx"
    assert heavy.stat().st_size > 30_000_000  # generated, not committed


def test_every_example_has_a_generator() -> None:
    examples = {path.parent.name for path in (PROJECT_ROOT / "images").glob("*/image.yaml")}
    assert examples == set(make_models.EXAMPLES)
