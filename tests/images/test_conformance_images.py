"""Two conformance models as real images (a bare classifier with a rank-1 label, a text model with an NGC-form
config.pbtxt), and two that must not be tagged: a ZipMap model and a config.pbtxt contradicting its model. The full
matrix runs in the runtime tier; this proves the same rules hold inside the built image."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import docker
import numpy as np
import pytest
import yaml
from docker.errors import ImageNotFound

from kit.pipeline import build_all
from kit.release.record import record_path
from tests.runtime.conformance import CONFIGS, HostReference
from tests.runtime.conformance import CONFORMANCE_DIR as MODELS

pytestmark = pytest.mark.docker

SCORE = '''"""Conformance image: {"inputs": {name: rows}} in, every output of MODEL as nested lists out."""

import json

import numpy as np

from scoring.triton import client

MODEL = "{model}"


def init():
    client().model_metadata(MODEL)


def run(raw_data):
    inputs = json.loads(raw_data)["inputs"]
    arrays = {
        name: np.asarray(rows, dtype=object if isinstance(np.ravel(rows)[0], str) else None)
        for name, rows in inputs.items()
    }
    return {name: value.tolist() for name, value in client().infer_numpy(MODEL, arrays).items()}
'''


def image_folder(root: Path, name: str, model: str, form: str, request: dict, expected: dict) -> Path:
    folder = root / name
    version_dir = folder / "triton" / model / "1"
    version_dir.mkdir(parents=True)
    shutil.copy2(MODELS / f"{model}.onnx", version_dir / "model.onnx")
    if form != "bare":
        shutil.copy2(CONFIGS / f"{model}.{form}.pbtxt", folder / "triton" / model / "config.pbtxt")
    (folder / "score.py").write_text(SCORE.replace("{model}", model))
    spec = {"name": name, "version": "1.0.0", "base": "cpu", "entry_script": "score.py", "model_repository": "triton",
            "samples": [{"name": "rows", "request": request, "expected": expected, "tolerance": 1e-5}]}  # fmt: skip
    (folder / "image.yaml").write_text(yaml.safe_dump(spec))
    return folder


def as_served(expected: dict[str, np.ndarray]) -> dict[str, list]:
    """A rank-1 output comes back as [N, 1] (dims [1] + reshape [])."""
    return {name: (value[:, None] if value.ndim == 1 else value).tolist() for name, value in expected.items()}


def remove_images(docker_client: docker.DockerClient, name: str) -> None:
    for image in docker_client.images.list(name=name):
        for tag in image.tags:
            docker_client.images.remove(tag, force=True)


def test_conformance_images_serve_and_refuse(tmp_path: Path, docker_client: docker.DockerClient) -> None:
    reference = HostReference()
    classifier = reference.case("sk_classifier", 3, 31)
    text = reference.case("sk_text", 3, 32)
    rows = classifier.inputs["X"].tolist()
    folders = {
        "conf-classifier": image_folder(tmp_path, "conf-classifier", "sk_classifier", "bare",
                                        {"inputs": {"X": rows}}, as_served(classifier.expected)),
        "conf-text": image_folder(tmp_path, "conf-text", "sk_text", "ngc_reshape",
                                  {"inputs": {"text": [[item] for item in text.inputs["text"].tolist()]}},
                                  as_served(text.expected)),
        "conf-zipmap": image_folder(tmp_path, "conf-zipmap", "sk_zipmap", "bare", {"inputs": {"X": rows}}, {}),
        "conf-bad-config": image_folder(tmp_path, "conf-bad-config", "sk_classifier", "bad_dims",
                                        {"inputs": {"X": rows}}, {}),
    }  # fmt: skip
    try:
        # One run per image: each run builds the shared base tag from this checkout just before its image.
        outcomes = {name: build_all(docker_client, [str(folder)], "cpu")[0] for name, folder in folders.items()}
        assert not outcomes["conf-classifier"].error, outcomes["conf-classifier"].error
        assert not outcomes["conf-text"].error, outcomes["conf-text"].error
        first_lines = {name: outcomes[name].error.splitlines()[:2] for name in ("conf-zipmap", "conf-bad-config")}
        assert first_lines["conf-zipmap"][0] == "Triton failed to load 1 model(s):", first_lines
        assert first_lines["conf-zipmap"][1].startswith("model 'sk_zipmap': "), first_lines
        assert "{'zipmap': False}" in first_lines["conf-zipmap"][1]
        assert first_lines["conf-bad-config"][1].startswith(
            "model 'sk_classifier': model 'sk_classifier', tensor 'X': the model expects 2 dimensions (shape [-1,4])"
        ), first_lines
        for name in ("conf-zipmap", "conf-bad-config"):
            with pytest.raises(ImageNotFound):
                docker_client.images.get(f"{name}:1.0.0")
            assert not record_path(name).exists()
        assert json.loads(record_path("conf-classifier").read_text())["image_id"]
    finally:
        for name in folders:
            remove_images(docker_client, name)
