"""The one Jinja environment: every Dockerfile and compose text lives in templates/, rendered strictly."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from kit import PROJECT_ROOT

TEMPLATES_DIR = PROJECT_ROOT / "templates"

environment = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # Dockerfiles and YAML, not HTML
)


def render(template_name: str, **context: Any) -> str:
    return environment.get_template(template_name).render(**context)
