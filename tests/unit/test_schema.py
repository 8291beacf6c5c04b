"""image.yaml's published JSON Schema is current (generated from the model) and accepts every example image."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from kit import PROJECT_ROOT
from kit.spec.schema import SCHEMA_FILE, image_schema, schema_text

EXAMPLES = sorted((PROJECT_ROOT / "images").glob("*/image.yaml"))


def test_the_committed_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text() == schema_text(), "regenerate it: python -m kit.spec.schema"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.parent.name)
def test_examples_match_the_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text()), image_schema())


def test_the_schema_refuses_what_the_kit_refuses() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "version": "1", "samples": [], "entrypoint": "a.py"}, image_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "version": "1", "samples": [{}], "environment": {"A": [1]}}, image_schema())
