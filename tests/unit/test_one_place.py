"""Every runtime default and in-image fact declared once: change it in its one place, and every rendered file (the
Dockerfile, compose, Kubernetes, KServe, Azure ML) and the smoke and run settings follow; the old value is gone."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from kit import PROJECT_ROOT
from kit.context import templates
from kit.context.render import render_context
from kit.deploy.manifests import write_manifests
from kit.run.local_run import published_port
from kit.spec.bases import CPU
from kit.spec.image import load_spec
from kit.verify.smoke import image_setting, triton_inside_url
from scoring import layout, settings
from tests.unit.test_render import fixed_inputs

SETTINGS = {"SERVER_PORT": (5001, 5123), "TRITON_READY_TIMEOUT": (300, 377), "TRITON_HTTP_PORT": (8000, 8123)}
LAYOUT = {
    "UID": (1000, 1234),
    "GID": (1000, 1235),
    "APP_ROOT": ("/var/azureml-app", "/srv/scoring-app"),
    "MODELS_ROOT": ("/var/azureml-app/azureml-models", "/srv/scoring-app/registered"),
    "LEGACY_MODEL_DIR": ("/var/azureml-models", "/srv/legacy-models"),
    "SCORING_LIB": ("/opt/scoring/lib", "/srv/scoring/wheels"),
}


# The same number for another fact: the HPA's scale-down stabilization window is Kubernetes' own 300 s.
COINCIDENCES = {("TRITON_READY_TIMEOUT", "k8s/base/hpa.yaml")}


@pytest.fixture
def changed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, (_, new) in SETTINGS.items():
        monkeypatch.setitem(settings.BY_ENV, name, dataclasses.replace(settings.BY_ENV[name], default=new))
    for name, (_, new) in LAYOUT.items():
        monkeypatch.setattr(layout, name, new)
    monkeypatch.setattr(templates, "environment", templates.make_environment())


def rendered(example: str, tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / example
    shutil.copytree(PROJECT_ROOT / "images" / example, folder)
    spec = load_spec(folder)
    context = render_context(fixed_inputs(folder, CPU, tmp_path / "wheels"), tmp_path / "context")
    deploy = write_manifests(spec, directory=tmp_path / "deploy")
    files = {
        "Dockerfile": (context / "Dockerfile").read_text(),
        "compose": (context / "docker-compose.yml").read_text(),
        **{str(path.relative_to(deploy)): path.read_text() for path in deploy.rglob("*.yaml")},
    }
    files["smoke"] = f"{triton_inside_url(spec)} {image_setting(spec, 'TRITON_READY_TIMEOUT')}"
    files["run"] = published_port()
    return files


@pytest.mark.parametrize("example", ["mlp-classifier", "aml-digits"])
def test_a_changed_default_appears_wherever_the_old_one_did(example: str, tmp_path: Path, changed: None) -> None:
    before_dir, after_dir = tmp_path / "before", tmp_path / "after"
    after = rendered(example, after_dir)
    with pytest.MonkeyPatch.context() as undo:  # the declared values, for the comparison
        for name, (old, _) in SETTINGS.items():
            undo.setitem(settings.BY_ENV, name, dataclasses.replace(settings.BY_ENV[name], default=old))
        for name, (old, _) in LAYOUT.items():
            undo.setattr(layout, name, old)
        undo.setattr(templates, "environment", templates.make_environment())
        before = rendered(example, before_dir)
    assert set(before) == set(after)
    for name, (old, new) in {**SETTINGS, **LAYOUT}.items():
        old_pattern = re.compile(rf"(?<![\w/.-]){re.escape(str(old))}(?![\w.-])")
        for file, text in before.items():
            if (name, file) in COINCIDENCES:
                continue
            count = len(old_pattern.findall(text))
            if count and name not in ("GID", "UID"):  # uid and gid share the value 1000 before the change
                new_count = len(re.findall(rf"(?<![\w/.-]){re.escape(str(new))}(?![\w.-])", after[file]))
                assert new_count >= count, (name, file)
            assert not old_pattern.findall(after[file].replace(str(before_dir), "").replace(str(after_dir), "")), (
                name,
                file,
            )
