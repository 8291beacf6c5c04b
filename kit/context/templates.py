"""The one Jinja environment: every Dockerfile and compose text lives in templates/, rendered strictly.

An image may bring its own Dockerfile template (image.yaml `dockerfile_template:`): it is looked up in the image
folder first and `{% extends "image/Dockerfile.j2" %}`, overriding only the kit's named blocks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateSyntaxError, nodes

from kit.errors import KitError
from kit.paths import TEMPLATES_DIR
from scoring import layout, settings

IMAGE_DOCKERFILE = "image/Dockerfile.j2"
# Control characters are refused when image.yaml is validated; this is the last guard.
UNQUOTABLE = set(map(chr, [*range(0x09), *range(0x0A, 0x20), 0x7F]))


class TemplateOverrideError(KitError):
    pass


def docker_env_value(value: str) -> str:
    """`value` as a double-quoted Dockerfile word that Docker reads back exactly: inside double quotes its lexer
    treats only backslash, double quote and dollar specially, so those three are escaped and nothing is expanded."""
    if UNQUOTABLE & set(value):
        raise ValueError(f"{value!r}: a Docker ENV value cannot hold control characters other than tab")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def make_environment(image_folder: Path | None = None) -> Environment:
    kit_loader = FileSystemLoader(str(TEMPLATES_DIR))
    loader = kit_loader if image_folder is None else ChoiceLoader([FileSystemLoader(str(image_folder)), kit_loader])
    created = Environment(
        loader=loader,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Dockerfiles and YAML, not HTML
    )
    created.filters["docker_env_value"] = docker_env_value
    # The runtime's declared defaults and the in-image layout, so no template writes a port, a path or a uid.
    created.globals.update(defaults=settings.defaults(), layout=layout.as_template_values())
    return created


environment = make_environment()


def render(template_name: str, **context: Any) -> str:
    return environment.get_template(template_name).render(**context)


def render_image_dockerfile(image_folder: Path, template_name: str | None, **context: Any) -> str:
    """The image's Dockerfile from its own template when it names one, else from the kit's."""
    if template_name is None:
        return render(IMAGE_DOCKERFILE, **context)
    return make_environment(image_folder).get_template(template_name).render(**context)


def block_names(source: str, name: str) -> set[str]:
    return {block.name for block in environment.parse(source, name).find_all(nodes.Block)}


def kit_blocks() -> set[str]:
    return block_names((TEMPLATES_DIR / IMAGE_DOCKERFILE).read_text(), IMAGE_DOCKERFILE)


def check_template_override(image_folder: Path, template_name: str) -> None:
    """An override must extend the kit's image template and override only its blocks (errors name the fix)."""
    path = image_folder / template_name
    where = f"{image_folder / 'image.yaml'}: dockerfile_template: {template_name}"
    shadowed = [
        str(kit.relative_to(TEMPLATES_DIR))
        for kit in sorted(TEMPLATES_DIR.rglob("*.j2"))
        if (image_folder / kit.relative_to(TEMPLATES_DIR)).exists()
    ]
    if shadowed:
        raise TemplateOverrideError(f"{where}: the image folder would shadow the kit's {', '.join(shadowed)}")
    try:
        tree = environment.parse(path.read_text(), template_name)
    except TemplateSyntaxError as error:
        raise TemplateOverrideError(f"{where}: line {error.lineno}: {error.message}") from None
    parents = [node.template for node in tree.find_all(nodes.Extends)]
    if not any(isinstance(parent, nodes.Const) and parent.value == IMAGE_DOCKERFILE for parent in parents):
        raise TemplateOverrideError(f'{where}: start it with {{% extends "{IMAGE_DOCKERFILE}" %}}')
    unknown = sorted({block.name for block in tree.find_all(nodes.Block)} - kit_blocks())
    if unknown:
        raise TemplateOverrideError(
            f"{where}: unknown block(s) {', '.join(unknown)}; the kit's blocks are {', '.join(sorted(kit_blocks()))}"
        )
