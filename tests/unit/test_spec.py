"""image.yaml validation: every error names the file, the field and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kit import PROJECT_ROOT
from kit.spec.image import RESERVED_ENV, ExplicitBase, SpecError, load_spec
from tests.support.image_folders import EXAMPLE, edit


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


AML_EXAMPLE = PROJECT_ROOT / "images" / "aml-digits"


@pytest.fixture
def aml_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "aml"
    shutil.copytree(AML_EXAMPLE, folder)
    return folder


def test_registered_model_folder_and_its_triton_repository_are_found() -> None:
    spec = load_spec(AML_EXAMPLE)
    assert [(model.path, model.registered_name, model.version) for model in spec.models] == [
        ("models", "digits-model", 1)
    ]
    assert spec.model_repository == "models/triton"
    assert spec.requirements == ["pillow==12.3.0"]  # the conda file's pip: section, azureml-defaults replaced


def test_missing_model_folder_names_the_field_and_the_fix(aml_folder: Path) -> None:
    edit(aml_folder, models=[{"path": "registered"}])
    message = error_for(aml_folder)
    assert "models.0.path: registered not found" in message and "add the registered model folder" in message


def test_model_folder_outside_the_image_folder_is_refused(aml_folder: Path) -> None:
    edit(aml_folder, models=[{"path": "../models"}])
    assert "models.0.path: Value error" not in error_for(aml_folder)
    assert "must be a folder inside the image folder" in error_for(aml_folder)


def test_declared_repository_must_lie_in_a_model_folder(aml_folder: Path) -> None:
    edit(aml_folder, model_repository="triton")
    assert "model_repository: triton is not inside a model folder (models)" in error_for(aml_folder)
    edit(aml_folder, model_repository="models/elsewhere")
    assert "model_repository: models/elsewhere not found" in error_for(aml_folder)


def test_model_folder_without_a_repository_says_so(aml_folder: Path) -> None:
    shutil.rmtree(aml_folder / "models" / "triton")
    (aml_folder / "models" / "readme.txt").write_text("no models here")
    assert "model_repository: no Triton model repository" in error_for(aml_folder)


def test_two_candidate_repositories_ask_for_a_choice(aml_folder: Path) -> None:
    shutil.copytree(aml_folder / "models" / "triton", aml_folder / "models" / "other")
    assert "several Triton repositories found (models/other, models/triton); choose one" in error_for(aml_folder)
    edit(aml_folder, model_repository="models/other")
    assert load_spec(aml_folder).model_repository == "models/other"


def test_conda_only_packages_are_named(aml_folder: Path) -> None:
    (aml_folder / "environment.yml").write_text(
        "dependencies:\n  - python=3.11\n  - numpy=1.26\n  - conda-forge::libjpeg-turbo\n  - pip:\n    - pillow\n"
    )
    message = error_for(aml_folder)
    assert "conda_file: environment.yml lists conda-only packages the kit cannot install: numpy=1.26, " in message
    assert "conda-forge::libjpeg-turbo; move them to its pip: section" in message


def test_missing_conda_file_is_named(aml_folder: Path) -> None:
    (aml_folder / "environment.yml").unlink()
    assert "conda_file: environment.yml not found" in error_for(aml_folder)


def test_conda_pip_lines_join_the_requirements(aml_folder: Path) -> None:
    edit(aml_folder, requirements=["pillow==12.3.0", "scipy==1.14.1"])
    assert load_spec(aml_folder).requirements == ["pillow==12.3.0", "scipy==1.14.1"]


def test_kit_owned_model_dir_is_refused(aml_folder: Path) -> None:
    edit(aml_folder, environment={"AZUREML_MODEL_DIR": "/models"})
    assert "AZUREML_MODEL_DIR is reserved" in error_for(aml_folder)
    assert "declare registered model folders with models: instead" in error_for(aml_folder)


def sample(**fields: object) -> dict[str, object]:
    return {"name": "s", "request_file": "samples/zero.png", **fields}


def test_regex_that_does_not_compile_is_named(aml_folder: Path) -> None:
    edit(aml_folder, samples=[sample(expected_regex="7 : (seven")])
    message = error_for(aml_folder)
    assert "samples.0.expected_regex: regex '7 : (seven' does not compile" in message
    assert "fix the pattern" in message


def test_header_regex_that_does_not_compile_is_named(aml_folder: Path) -> None:
    edit(aml_folder, samples=[sample(expected_text="x", expected_headers={"Content-Type": {"regex": "text/[a-z"}})])
    assert "samples.0.expected_headers.Content-Type.HeaderRegex.regex: regex 'text/[a-z'" in error_for(aml_folder)


def test_missing_raw_sample_file_is_named(aml_folder: Path) -> None:
    edit(aml_folder, samples=[sample(request_file="samples/cat.jpg", expected_text="x")])
    assert "samples.0.request_file: samples/cat.jpg not found" in error_for(aml_folder)


def test_sample_needs_exactly_one_expectation(aml_folder: Path) -> None:
    edit(aml_folder, samples=[sample(expected_text="x", expected_regex="x")])
    assert "exactly one of expected (inline JSON), expected_file, expected_text or expected_regex" in error_for(
        aml_folder
    )


def test_tolerance_is_for_json_answers_only(aml_folder: Path) -> None:
    edit(aml_folder, samples=[sample(expected_text="x", tolerance=0.1)])
    assert "fields and tolerance compare JSON answers" in error_for(aml_folder)


def test_get_sample_takes_a_query_not_a_body_type(aml_folder: Path) -> None:
    edit(aml_folder, samples=[{"name": "g", "method": "GET", "query": "a=1", "content_type": "text/plain",
                               "expected_text": "x"}])  # fmt: skip
    assert "content_type is for POST bodies" in error_for(aml_folder)


def test_sample_formats_and_content_types() -> None:
    spec = load_spec(AML_EXAMPLE)
    by_name = {item.name: item for item in spec.samples}
    assert by_name["png-bytes"].compare_as == "text"
    assert by_name["png-bytes"].request_content_type() == "application/octet-stream"
    assert by_name["jpeg-bytes"].compare_as == "regex"
    assert by_name["json-pixels"].compare_as == "json"
    assert by_name["json-pixels"].request_content_type() == "application/json"
    assert by_name["label-by-query"].method == "GET"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"models": [{"path": "registered"}]}, "models.0.path: registered not found"),
        ({"samples": [sample(request_file="samples/cat.jpg", expected_text="x")]}, "samples.0.request_file"),
        ({"samples": [sample(expected_regex="(")]}, "samples.0.expected_regex: regex '(' does not compile"),
    ],
    ids=["missing-model-folder", "missing-sample-file", "bad-regex"],
)
def test_bad_input_stops_the_run_before_anything_is_built(aml_folder: Path, change: dict, expected: str) -> None:
    from kit.errors import KitError
    from kit.pipeline import plan_images

    edit(aml_folder, **change)
    with pytest.raises(KitError) as caught:
        plan_images(None, [str(aml_folder)], "cpu")  # type: ignore[arg-type]  # validation fails before Docker
    message = str(caught.value)
    assert message.startswith("validation failed; nothing was built")
    assert f"{aml_folder / 'image.yaml'}:" in message and expected in message
