"""Rendering: byte-stable contexts, reviewed expected Dockerfiles per base, hadolint on every rendered Dockerfile."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from kit import PROJECT_ROOT
from kit.context.lint import hadolint
from kit.context.render import ImageInputs, dockerfile_text, render_context
from kit.spec.bases import CPU, NGC_20_09, NGC_24_12, PROFILES, BaseProfile
from kit.spec.image import load_spec

EXPECTED = PROJECT_ROOT / "tests" / "expected"
EXAMPLES = sorted(path.parent for path in (PROJECT_ROOT / "images").glob("*/image.yaml"))


def fixed_inputs(folder: Path, profile: BaseProfile, wheel_dir: Path | None = None) -> ImageInputs:
    wheels: tuple[Path, ...] = ()
    if wheel_dir is not None:
        wheel_dir.mkdir(parents=True, exist_ok=True)
        wheel = wheel_dir / "gunicorn-27.0.1-py3-none-any.whl"
        wheel.write_bytes(b"not really a wheel")
        wheels = (wheel,)
    spec = load_spec(folder)
    # Stand-ins for the host-side .deb cache's files, named as apt-get download names them.
    debs = tuple(Path(f"{name}_1%3a1.0-1_amd64.deb") for name in spec.system_packages)
    return ImageInputs(
        folder=folder,
        spec=spec,
        profile=profile,
        base_image=profile.image,
        base_digest="sha256:" + "0" * 64,
        source="https://example.invalid/triton-kit.git",
        revision="0123456789abcdef0123456789abcdef01234567",
        scoring_wheels=wheels,
        image_wheels=(),
        system_debs=debs,
    )


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()
    }


@pytest.mark.parametrize(
    ("image", "profile"),
    [*(("mlp-classifier", profile) for profile in (CPU, NGC_20_09, NGC_24_12)), ("sniffed-uploads", CPU)],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_expected_dockerfile(image: str, profile: BaseProfile) -> None:
    rendered = dockerfile_text(fixed_inputs(PROJECT_ROOT / "images" / image, profile))
    expected_path = EXPECTED / f"{image}.{profile.name}.Dockerfile"
    if os.environ.get("UPDATE_EXPECTED") == "1":
        expected_path.write_text(rendered)
    assert rendered == expected_path.read_text(), f"review and run UPDATE_EXPECTED=1 if intended: {expected_path}"


@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda folder: folder.name)
@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_every_rendered_dockerfile_passes_hadolint(folder: Path, profile_name: str) -> None:
    result = hadolint(dockerfile_text(fixed_inputs(folder, PROFILES[profile_name])))
    assert result.returncode == 0, result.stdout + result.stderr


def test_render_twice_gives_identical_files(tmp_path: Path) -> None:
    inputs = fixed_inputs(PROJECT_ROOT / "images" / "mlp-classifier", CPU, tmp_path / "wheels")
    first = tree(render_context(inputs, tmp_path / "first"))
    second = tree(render_context(inputs, tmp_path / "second"))
    assert first == second
    assert {"Dockerfile", ".dockerignore", "docker-compose.yml", "app/score.py", "triton/mlp/1/model.onnx"} <= set(
        first
    )
    assert "scoring/supervisor.py" in first and "wheels/scoring/gunicorn-27.0.1-py3-none-any.whl" in first
    assert not any(name.startswith("app/samples") or name == "app/image.yaml" for name in first)


def test_compose_files_publish_the_port_or_use_a_private_namespace(tmp_path: Path) -> None:
    inputs = fixed_inputs(PROJECT_ROOT / "images" / "mlp-classifier", CPU, tmp_path / "wheels")
    context = render_context(inputs, tmp_path / "ctx")
    bridge = yaml.safe_load((context / "docker-compose.yml").read_text())["services"]["mlp-classifier"]
    assert bridge["image"] == "mlp-classifier:1.0.0" and bridge["ports"] == ["127.0.0.1:${SERVER_PORT:-5001}:5001"]
    assert "network_mode" not in bridge
    isolated = yaml.safe_load((context / "docker-compose.no-bridge.yml").read_text())["services"]["mlp-classifier"]
    assert isolated["network_mode"] == "none" and "ports" not in isolated
    assert isolated["environment"] == {"SCORING_UNIX_SOCKET": "/run/scoring/scoring.sock"}
    assert isolated["volumes"] == ["${SCORING_SOCKET_DIR:-./run}:/run/scoring"]


def test_registered_model_folders_keep_azure_ml_layout(tmp_path: Path) -> None:
    folder = PROJECT_ROOT / "images" / "aml-digits"
    inputs = fixed_inputs(folder, CPU, tmp_path / "wheels")
    files = tree(render_context(inputs, tmp_path / "ctx"))
    assert "models/digits-model/1/models/triton/digits/1/model.onnx" in files
    assert "models/digits-model/1/models/triton/digits/labels.txt" in files
    assert "app/score.py" in files and "app/onnxruntimetriton.py" in files
    assert not any(name.startswith(("app/models", "app/samples", "triton/")) for name in files)
    dockerfile = dockerfile_text(inputs)
    assert "AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/digits-model/1 " in dockerfile
    assert "TRITON_MODEL_REPOSITORY=models/triton " in dockerfile
    assert "COPY models/ /var/azureml-app/azureml-models/\n" in dockerfile


def test_several_model_folders_sit_under_name_and_version(tmp_path: Path) -> None:
    folder = tmp_path / "two-models"
    shutil.copytree(PROJECT_ROOT / "images" / "aml-digits", folder)
    (folder / "extra").mkdir()
    (folder / "extra" / "vocabulary.txt").write_text("a\nb\n")
    spec_path = folder / "image.yaml"
    data = yaml.safe_load(spec_path.read_text())
    data["models"].append({"path": "extra", "name": "vocab", "version": 3})
    spec_path.write_text(yaml.safe_dump(data))
    inputs = fixed_inputs(folder, CPU, tmp_path / "wheels")
    files = tree(render_context(inputs, tmp_path / "ctx"))
    assert "models/vocab/3/extra/vocabulary.txt" in files
    dockerfile = dockerfile_text(inputs)
    assert "AZUREML_MODEL_DIR=/var/azureml-app/azureml-models " in dockerfile
    assert "TRITON_MODEL_REPOSITORY=digits-model/1/models/triton " in dockerfile


def test_layer_order_puts_app_code_last(tmp_path: Path) -> None:
    lines = dockerfile_text(fixed_inputs(PROJECT_ROOT / "images" / "mlp-classifier", CPU)).splitlines()
    order = [
        next(i for i, line in enumerate(lines) if line.startswith(prefix))
        for prefix in (
            "COPY --from=scoring-packages /opt/scoring/lib",
            "COPY triton/",
            "COPY scoring/",
            "COPY app/",
            "LABEL ",
            "USER 1000:1000",
            "HEALTHCHECK",
            "ENTRYPOINT",
        )
    ]
    assert order == sorted(order)
