"""ENV values quoted for Docker, the kit's own variables reserved, image requirements held to the kept pins, and
Dockerfile template overrides that extend the kit's blocks without touching the runtime contract."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from kit import PROJECT_ROOT
from kit.context.lint import hadolint
from kit.context.render import dockerfile_text
from kit.context.runtime_wheels import image_wheels, requirements_to_fetch
from kit.context.templates import TEMPLATES_DIR, TemplateOverrideError, check_template_override, docker_env_value
from kit.context.wheelhouse import WheelhouseError
from kit.spec.bases import CPU
from kit.spec.image import RESERVED_ENV
from tests.unit.test_render import fixed_inputs

EXAMPLE = PROJECT_ROOT / "images" / "mlp-classifier"
# Settings the template sets that the README documents as the user's to change.
USER_SETTINGS = {"SERVER_PORT"}


def test_env_values_are_double_quoted_with_backslash_quote_and_dollar_escaped() -> None:
    assert docker_env_value("it's <a&b> $HOME") == '"it\'s <a&b> \\$HOME"'
    assert docker_env_value('say "hi"') == '"say \\"hi\\""'
    assert docker_env_value("C:\\temp\\") == '"C:\\\\temp\\\\"'
    assert docker_env_value("${PATH}") == '"\\${PATH}"'
    assert docker_env_value("grüße, 東京 ✓") == '"grüße, 東京 ✓"'
    assert docker_env_value("tab\there") == '"tab\there"'
    with pytest.raises(ValueError, match="control characters"):
        docker_env_value("two\nlines")


def kit_env_names(dockerfile: str) -> set[str]:
    names, continued = set(), False
    for line in dockerfile.splitlines():
        match = re.match(r"^(?:ENV\s+|\s+)([A-Z_][A-Z0-9_]*)=", line)
        if match and (line.startswith("ENV") or continued):
            names.add(match.group(1))
        continued = line.rstrip().endswith("\\")
    return names


def test_every_variable_the_templates_set_for_the_kit_is_reserved() -> None:
    rendered = dockerfile_text(fixed_inputs(EXAMPLE, CPU)).replace('ENV WORKER_COUNT="1"', "")
    image_names = kit_env_names(rendered)
    base_names = kit_env_names((TEMPLATES_DIR / "base" / "cpu.Dockerfile.j2").read_text())
    assert {"AZUREML_MODEL_DIR", "PYTHONPATH", "PATH", "LD_LIBRARY_PATH"} <= image_names | base_names
    assert (image_names | base_names) - USER_SETTINGS <= set(RESERVED_ENV)


def test_user_environment_comes_after_the_app_layer() -> None:
    lines = dockerfile_text(fixed_inputs(EXAMPLE, CPU)).splitlines()
    assert lines.index('ENV WORKER_COUNT="1"') > lines.index("COPY app/ /var/azureml-app/")


def test_a_requirement_excluding_a_kept_pin_names_both() -> None:
    with pytest.raises(WheelhouseError) as caught:
        requirements_to_fetch(["pillow==12.3.0", "numpy>=2"], CPU)
    assert "requirements: numpy>=2 conflicts with numpy==1.26.4" in str(caught.value)
    with pytest.raises(WheelhouseError, match=re.escape("gunicorn<27 conflicts with gunicorn==27.0.1")):
        requirements_to_fetch(["gunicorn<27"], CPU)
    with pytest.raises(WheelhouseError, match=re.escape("greenlet<3 conflicts with greenlet==")):
        requirements_to_fetch(["greenlet<3"], CPU)  # a dependency of the runtime's pins is kept too


def test_requirements_the_runtime_already_meets_are_not_fetched_again() -> None:
    wanted = ["numpy", "numpy>=1.26,<2", "tritonclient[http]", "pillow==12.3.0"]
    assert requirements_to_fetch(wanted, CPU) == ["pillow==12.3.0"]
    assert image_wheels(["tritonclient[http]", "numpy<2"], CPU) == []


def test_a_dependency_forcing_numpy_2_is_refused_with_pips_report_of_both_pins() -> None:
    """Real pip resolution against PyPI (through the host's proxy): opencv 4.12 needs numpy>=2."""
    with pytest.raises(WheelhouseError) as caught:
        image_wheels(["opencv-python-headless==4.12.0.88"], CPU)
    message = str(caught.value)
    assert "opencv-python-headless 4.12.0.88 depends on numpy<2.3.0 and >=2" in message
    assert "The user requested (constraint) numpy==1.26.4" in message


OVERRIDE = """{% extends "image/Dockerfile.j2" %}
{% block system_setup %}{{ super() }}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]{% endblock %}
{% block app %}{{ super() }}
USER 0:0
COPY app/extra.txt /opt/extra/{% endblock %}
{% block labels %}{{ super() }}
LABEL com.example.team="vision"{% endblock %}
"""


def override_folder(tmp_path: Path, template: str = OVERRIDE) -> Path:
    folder = tmp_path / "overridden"
    shutil.copytree(EXAMPLE, folder)
    (folder / "Dockerfile.j2").write_text(template)
    (folder / "extra.txt").write_text("extra\n")
    data = yaml.safe_load((folder / "image.yaml").read_text())
    (folder / "image.yaml").write_text(yaml.safe_dump({**data, "dockerfile_template": "Dockerfile.j2"}))
    return folder


def test_an_override_extends_blocks_and_keeps_the_runtime_contract_last(tmp_path: Path) -> None:
    folder = override_folder(tmp_path)
    check_template_override(folder, "Dockerfile.j2")
    rendered = dockerfile_text(fixed_inputs(folder, CPU))
    lines = rendered.splitlines()
    shell = 'SHELL ["/bin/bash", "-o", "pipefail", "-c"]'
    assert shell in lines and 'LABEL com.example.team="vision"' in lines
    assert lines.index(shell) < lines.index("COPY app/ /var/azureml-app/")
    # Whatever the blocks do, the kit's USER, HEALTHCHECK and ENTRYPOINT come after every block.
    last_block_line = lines.index('LABEL com.example.team="vision"')
    contract = [i for i, line in enumerate(lines) if line.split(" ")[0] in ("USER", "HEALTHCHECK", "ENTRYPOINT")]
    assert lines.index("USER 0:0") < last_block_line < min(i for i in contract if lines[i] != "USER 0:0")
    assert lines[-1].startswith("ENTRYPOINT") and "USER 1000:1000" in lines
    assert "edit overridden/Dockerfile.j2 (extending templates/image/Dockerfile.j2)" in rendered
    result = hadolint(rendered)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("FROM scratch\n", 'start it with {% extends "image/Dockerfile.j2" %}'),
        ('{% extends "image/Dockerfile.j2" %}{% block entrypoint %}{% endblock %}', "unknown block(s) entrypoint"),
        ('{% extends "image/Dockerfile.j2" %}{% block app %}', "line 1: Unexpected end of template"),
    ],
)
def test_bad_overrides_are_refused_with_the_fix(tmp_path: Path, template: str, message: str) -> None:
    folder = override_folder(tmp_path, template)
    with pytest.raises(TemplateOverrideError) as caught:
        check_template_override(folder, "Dockerfile.j2")
    assert message in str(caught.value) and "dockerfile_template: Dockerfile.j2" in str(caught.value)


def test_an_image_folder_cannot_shadow_the_kits_templates(tmp_path: Path) -> None:
    folder = override_folder(tmp_path)
    (folder / "image").mkdir()
    (folder / "image" / "Dockerfile.j2").write_text("FROM scratch\n")
    with pytest.raises(TemplateOverrideError, match=re.escape("would shadow the kit's image/Dockerfile.j2")):
        check_template_override(folder, "Dockerfile.j2")
