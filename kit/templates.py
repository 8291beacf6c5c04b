"""The one Jinja environment: every Dockerfile and compose text lives in templates/, rendered strictly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

environment = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # Dockerfiles and YAML, not HTML
)


def render(template_name: str, **context: Any) -> str:
    return environment.get_template(template_name).render(**context)
