"""Never a traceback (issue 21): random broken folders (random bytes per file, random YAML trees, mutated valid
image.yaml fields, odd names and encodings, symlinks in and out) must each end in a documented exit code; the test
fails if any reaches the last-resort handler (ExitCode.INTERNAL) or prints anything but one JSON document."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit import PROJECT_ROOT
from kit.cli.main import main
from kit.errors import ExitCode

EXAMPLES = [PROJECT_ROOT / "images" / "mlp-classifier", PROJECT_ROOT / "images" / "aml-digits"]
DOCUMENTED = {int(code) for code in ExitCode} - {int(ExitCode.INTERNAL)}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=40)
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "name", "version", "base", "entry_script", "models", "model_repository", "requirements", "conda_file",
    "environment", "samples", "registries", "deploy", "dockerfile_template", "system_packages", "schema_version",
]  # fmt: skip
FILES = ["image.yaml", "score.py", "samples/request.json", "environment.yml", "requirements.txt"]
MODEL_FILES = ["triton/mlp/1/model.onnx", "triton/mlp/config.pbtxt", "models/triton/digits/config.pbtxt"]
odd_names = st.one_of(
    st.text(min_size=1, max_size=30).filter(lambda name: "/" not in name and "\x00" not in name and name not in ".."),
    st.just("a" * 255),
    st.binary(min_size=1, max_size=12).map(os.fsdecode).filter(lambda name: "/" not in name and name not in ".."),
)
symlink_targets = st.sampled_from(["/etc/passwd", "nowhere", "..", ".", "score.py", "samples", "/", "loop"])

edits = st.one_of(
    st.tuples(st.just("bytes"), st.sampled_from(FILES + MODEL_FILES), st.binary(max_size=300)),
    st.tuples(st.just("text"), st.sampled_from(FILES + MODEL_FILES), st.text(max_size=200)),
    st.tuples(st.just("yaml-tree"), st.just("image.yaml"), trees),
    st.tuples(st.just("field"), st.sampled_from(FIELDS), trees),
    st.tuples(st.just("encoding"), st.just("image.yaml"), st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252"])),
    st.tuples(st.just("symlink"), odd_names, symlink_targets),
    st.tuples(st.just("odd-file"), odd_names, st.binary(max_size=20)),
    st.tuples(st.just("remove"), st.sampled_from(FILES + MODEL_FILES + ["triton", "samples", "models"]), st.none()),
)


def apply(folder: Path, edit: tuple[str, Any, Any]) -> None:
    kind, where, value = edit
    path = folder / str(where)
    with contextlib.suppress(OSError, ValueError, UnicodeError, yaml.YAMLError):
        if kind in ("bytes", "text") and path.parent.is_dir() and not path.is_symlink():
            path.write_bytes(value) if kind == "bytes" else path.write_text(value, encoding="utf-8")
        elif kind == "yaml-tree":
            path.write_text(yaml.safe_dump(value, allow_unicode=True))
        elif kind == "field":
            spec = folder / "image.yaml"
            data = yaml.safe_load(spec.read_text())
            if isinstance(data, dict):
                data[where] = value
                spec.write_text(yaml.safe_dump(data, allow_unicode=True))
        elif kind == "encoding":
            path.write_bytes(path.read_text().encode(value, errors="replace"))
        elif kind == "symlink":
            os.symlink(str(path) if value == "loop" else value, path)
        elif kind == "odd-file":
            path.write_bytes(value)
        elif kind == "remove":
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(example=st.sampled_from(EXAMPLES), changes=st.lists(edits, min_size=1, max_size=4))
def test_no_folder_reaches_the_last_resort_handler(example: Path, changes: list[tuple[str, Any, Any]]) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "folder"
        shutil.copytree(example, folder, symlinks=True)
        for change in changes:
            apply(folder, change)
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["--json", "--progress", "plain", "validate", "--offline", str(folder)])
        assert code in DOCUMENTED, f"{changes!r} reached the last resort: {stderr.getvalue()[-2000:]}"
        document = json.loads(stdout.getvalue())  # one JSON document, whatever happened
        assert document["exit_code"] == code
        assert "Traceback" not in stdout.getvalue() + stderr.getvalue()
        # The same folder adopted as an Azure ML project: init infers from whatever is there.
        with contextlib.suppress(OSError):
            (folder / "image.yaml").unlink()
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["--json", "--progress", "plain", "init", str(folder)])
        assert code in DOCUMENTED, f"init: {changes!r} reached the last resort: {stderr.getvalue()[-2000:]}"
        assert json.loads(stdout.getvalue())["exit_code"] == code
