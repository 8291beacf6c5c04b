"""image.yaml validation: every error names the file, the field and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from kit import PROJECT_ROOT
from kit.spec.image import RESERVED_ENV, ExplicitBase, SpecError, load_spec

EXAMPLE = PROJECT_ROOT / "images" / "mlp-classifier"


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder)
    return folder


def edit(folder: Path, **changes: object) -> None:
    path = folder / "image.yaml"
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data))


def error_for(folder: Path) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec(folder)
    message = str(caught.value)
    assert str(folder / "image.yaml") in message
    return message


def test_example_is_valid() -> None:
    spec = load_spec(EXAMPLE)
    assert (spec.name, spec.base, spec.model_repository) == ("mlp-classifier", "auto", "triton")
    assert spec.environment == {"WORKER_COUNT": "1"}


def test_unknown_key_is_rejected_with_the_allowed_ones(image_folder: Path) -> None:
    edit(image_folder, entrypoint="score.py")
    message = error_for(image_folder)
    assert "entrypoint: Extra inputs are not permitted; fix: remove it (allowed: name, version, base" in message


def test_missing_field_says_add_it(image_folder: Path) -> None:
    edit(image_folder, samples=None)
    assert "samples: Field required; fix: add it" in error_for(image_folder)


def test_bad_name_explains_the_rule(image_folder: Path) -> None:
    edit(image_folder, name="My_Model")
    assert "name: use lower-case letters" in error_for(image_folder)


def test_unknown_base_lists_choices(image_folder: Path) -> None:
    edit(image_folder, base="gpu")
    assert "base" in error_for(image_folder) and "auto, ngc-20.09, ngc-24.12, cpu" in error_for(image_folder)


def test_explicit_base_image(image_folder: Path) -> None:
    edit(image_folder, base={"image": "registry.local/triton:24.01", "profile": "cpu"})
    assert load_spec(image_folder).base == ExplicitBase(image="registry.local/triton:24.01", profile="cpu")


def test_missing_entry_script_is_named(image_folder: Path) -> None:
    (image_folder / "score.py").unlink()
    assert "entry_script: score.py not found" in error_for(image_folder)


def test_missing_sample_file_is_named(image_folder: Path) -> None:
    (image_folder / "samples" / "expected.json").unlink()
    assert "samples.0.expected_file: samples/expected.json not found" in error_for(image_folder)


def test_sample_needs_exactly_one_request(image_folder: Path) -> None:
    edit(image_folder, samples=[{"name": "s", "request": {"a": 1}, "request_file": "x.json", "expected": {}}])
    assert "exactly one of request" in error_for(image_folder)


@pytest.mark.parametrize("name", sorted(RESERVED_ENV))
def test_kit_owned_environment_is_refused_by_name(image_folder: Path, name: str) -> None:
    edit(image_folder, environment={name: "/elsewhere"})
    assert f"environment: {name} is reserved: the kit sets it for its own use" in error_for(image_folder)


@pytest.mark.parametrize("name", ["SERVER_PORT", "WORKER_COUNT", "WORKER_TIMEOUT", "SCORING_TIMEOUT_MS", "TRITON_ARGS"])
def test_documented_settings_stay_settable(image_folder: Path, name: str) -> None:
    edit(image_folder, environment={name: "7"})
    assert load_spec(image_folder).environment == {name: "7"}


@pytest.mark.parametrize("value", ["two\nlines", "carriage\rreturn", "nul\x00"])
def test_environment_value_with_a_newline_is_refused(image_folder: Path, value: str) -> None:
    edit(image_folder, environment={"GREETING": value})
    assert "GREETING: the value holds a newline or another control character" in error_for(image_folder)


def test_system_packages_must_be_debian_names(image_folder: Path) -> None:
    edit(image_folder, system_packages=["libmagic1", "curl=7.88"])
    assert "'curl=7.88' is not a Debian package name" in error_for(image_folder)


def test_dockerfile_template_must_be_in_the_folder(image_folder: Path) -> None:
    edit(image_folder, dockerfile_template="../Dockerfile.j2")
    assert "name a .j2 file inside the image folder" in error_for(image_folder)
    edit(image_folder, dockerfile_template="Custom.j2")
    assert "dockerfile_template: Custom.j2 not found" in error_for(image_folder)


def test_broken_yaml_is_reported(image_folder: Path) -> None:
    (image_folder / "image.yaml").write_text("name: [unclosed\n")
    assert "not valid YAML" in error_for(image_folder)
