"""Model repository checks: layout, model files each backend recognises, obvious config.pbtxt mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest
from onnx import TensorProto, helper

from kit.spec.bases import CPU, NGC_20_09
from kit.spec.repository import RepositoryError, check_repository, config_fields


def identity_onnx() -> bytes:
    """A real, tiny ONNX model (validation parses every .onnx file)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    return helper.make_model(graph).SerializeToString()


def make(root: Path, files: dict[str, str]) -> Path:
    """Files with the given text; an .onnx file given as "x" gets a real model."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative.endswith(".onnx") and text == "x":
            path.write_bytes(identity_onnx())
        else:
            path.write_text(text)
    return root


def problems(root: Path, profile=CPU) -> str:
    with pytest.raises(RepositoryError) as caught:
        check_repository(root, profile)
    return str(caught.value)


def test_valid_repository_lists_models(tmp_path: Path) -> None:
    root = make(
        tmp_path / "triton",
        {"a/1/model.onnx": "x", "a/2/model.onnx": "x", "b/config.pbtxt": 'backend: "python"', "b/1/model.py": ""},
    )
    models = {model.name: model for model in check_repository(root, CPU)}
    assert models["a"].backend == "onnxruntime" and models["a"].versions == (1, 2)
    assert models["b"].backend == "python"


def test_non_integer_version_folder(tmp_path: Path) -> None:
    root = make(tmp_path / "triton", {"a/v1/model.onnx": "x"})
    assert "a/v1: version folders must be integers" in problems(root)


def test_version_without_model_file(tmp_path: Path) -> None:
    root = make(tmp_path / "triton", {"a/1/weights.bin": "x"})
    assert "a/1: no model file Triton recognises" in problems(root)


def test_model_without_versions(tmp_path: Path) -> None:
    root = make(tmp_path / "triton", {"a/readme.txt": "x"})
    assert "no version folder" in problems(root)


def test_empty_and_missing_repository(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert "empty" in problems(tmp_path / "empty")
    assert "model repository not found" in problems(tmp_path / "absent")


def test_stray_file_in_root(tmp_path: Path) -> None:
    root = make(tmp_path / "triton", {"model.onnx": "x"})
    assert "stray file in the repository root" in problems(root)


def test_config_name_must_match_folder(tmp_path: Path) -> None:
    root = make(tmp_path / "triton", {"a/1/model.onnx": "x", "a/config.pbtxt": 'name: "b"\nmax_batch_size: 8'})
    assert "name 'b' differs from the folder 'a'" in problems(root)


def test_config_obvious_mistakes(tmp_path: Path) -> None:
    root = make(tmp_path / "triton", {"a/1/model.onnx": "x", "a/config.pbtxt": "max_batch_size: -1\ninput [ {"})
    text = problems(root)
    assert "unbalanced braces" in text and "max_batch_size must be a non-negative integer" in text


def test_config_backend_contradicting_the_file(tmp_path: Path) -> None:
    root = make(tmp_path / "triton", {"a/1/model.onnx": "x", "a/config.pbtxt": 'backend: "python"'})
    assert "says backend 'python' but the version folders hold a onnxruntime model file" in problems(root)


def test_base_capabilities(tmp_path: Path) -> None:
    root = make(tmp_path / "triton", {"a/1/model.plan": "x"})
    assert "the cpu base serves onnxruntime, python and ensemble models, not tensorrt" in problems(root)
    check_repository(root, NGC_20_09)
    python_root = make(tmp_path / "py", {"p/1/model.py": "", "p/config.pbtxt": 'backend: "python"'})
    assert "has no python backend; use BASE=cpu" in problems(python_root, NGC_20_09)


def test_config_fields_ignore_nested_values() -> None:
    text = 'name: "m"\nmax_batch_size: 4\ninput [\n  { name: "x" }\n]\nparameters { key: "a" }\n'
    assert config_fields(text) == {"name": "m", "max_batch_size": "4"}


ENSEMBLE = """
platform: "ensemble"
max_batch_size: 8
ensemble_scheduling { step [
  { model_name: "pre" model_version: -1 input_map { key: "RAW" value: "RAW" } output_map { key: "X" value: "x" } },
  { model_name: "clf" model_version: -1 input_map { key: "X" value: "x" } output_map { key: "Y" value: "Y" } }
] }
"""


def test_ensemble_with_empty_version_folder_is_accepted(tmp_path: Path) -> None:
    root = make(tmp_path / "triton", {"pre/1/model.py": "", "pre/config.pbtxt": 'backend: "python"',
                                      "clf/1/model.onnx": "x", "chain/config.pbtxt": ENSEMBLE})  # fmt: skip
    (root / "chain" / "1").mkdir()
    models = {model.name: model for model in check_repository(root, CPU)}
    assert models["chain"].backend == "ensemble" and models["chain"].steps == ("pre", "clf")


def test_ensemble_mistakes_triton_rejects(tmp_path: Path) -> None:
    root = make(tmp_path / "triton", {"clf/1/model.onnx": "x", "chain/config.pbtxt": ENSEMBLE,
                                      "bare/config.pbtxt": 'platform: "ensemble"'})  # fmt: skip
    (root / "chain" / "1").mkdir()
    (root / "bare" / "1").mkdir()
    text = problems(root)
    assert "chain/config.pbtxt: ensemble step model_name 'pre' is not in the repository; add triton/pre/" in text
    assert 'bare/config.pbtxt: platform "ensemble" needs an ensemble_scheduling' in text


def test_config_only_models_need_the_file_their_backend_loads(tmp_path: Path) -> None:
    root = make(tmp_path / "triton", {"a/config.pbtxt": 'backend: "onnxruntime"', "a/1/notes.txt": "",
                                      "b/config.pbtxt": 'default_model_filename: "net.onnx"\nbackend: "onnxruntime"',
                                      "b/1/model.onnx": "x"})  # fmt: skip
    text = problems(root)
    assert "a/1: the onnxruntime backend loads model.onnx from here; add it" in text
    assert "b/1: config.pbtxt names default_model_filename 'net.onnx'; put that file here" in text
    (root / "b" / "1" / "net.onnx").write_bytes(identity_onnx())
    (root / "a" / "1" / "model.onnx").write_bytes(identity_onnx())
    check_repository(root, CPU)
