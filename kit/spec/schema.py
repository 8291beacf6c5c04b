"""image.yaml's JSON Schema, generated from the pydantic model (kit/spec/image.schema.json, committed; a test checks
it is current). Regenerate with `python -m kit.spec.schema`. Editors use it through a first line such as
`# yaml-language-server: $schema=<path to image.schema.json>`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kit.spec.image import SCHEMA_VERSION, ImageSpec

SCHEMA_FILE = Path(__file__).with_name("image.schema.json")


def image_schema() -> dict[str, Any]:
    schema = ImageSpec.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://triton-kit.invalid/image.schema.v{SCHEMA_VERSION}.json",
        **schema,
        "title": f"triton-kit image.yaml (schema_version {SCHEMA_VERSION})",
    }


def schema_text() -> str:
    return json.dumps(image_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_text())
    print(f"wrote {SCHEMA_FILE}")
