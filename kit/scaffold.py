"""`build.py init <folder> --model model.onnx`: a new image folder that builds and passes its smoke test as is.

The sample request is made from the model's declared inputs (fixed seed, dynamic dimensions set to 2 for the batch
and 1 elsewhere); its expected answer is computed by onnxruntime on the host, so the smoke test compares Triton in
the image with the same model run here.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from kit.context.templates import render
from kit.errors import KitError
from kit.spec.image import NAME_MAX, SPEC_FILE, checked_name

TOLERANCE = 1e-4  # absolute; onnxruntime versions on the host and in the image may differ in the last bits
BATCH = 2


class ScaffoldError(KitError):
    pass


def safe_name(text: str, separator: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", separator, text.lower()).strip(separator)
    return cleaned or "model"


def example_array(name: str, shape: list[Any], dtype: np.dtype[Any], rng: np.random.Generator) -> np.ndarray:
    concrete = [dim if isinstance(dim, int) and dim > 0 else (BATCH if index == 0 else 1) for index, dim in
                enumerate(shape)]  # fmt: skip
    if dtype == np.bool_:
        return rng.integers(0, 2, size=concrete).astype(np.bool_)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, 10, size=concrete).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        return rng.random(size=concrete).astype(dtype)
    raise ScaffoldError(
        f"input {name!r} has type {dtype}; init makes samples for numeric and bool inputs only: "
        "write samples/request.json yourself"
    )


def model_sample(model_file: Path) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """A request for the model's inputs and the outputs onnxruntime computes for it."""
    try:
        import onnxruntime
    except ImportError:
        raise ScaffoldError(
            "init --model computes the sample's expected answer with onnxruntime, which is not installed: "
            "pip install onnxruntime (or install triton-kit[init])"
        ) from None

    try:
        session = onnxruntime.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for unreadable models
        raise ScaffoldError(f"{model_file}: onnxruntime cannot load it ({error})") from None
    rng = np.random.default_rng(0)
    arrays = {}
    for tensor in session.get_inputs():
        type_name = tensor.type.removeprefix("tensor(").removesuffix(")")
        dtype = np.dtype({"float": "float32", "double": "float64", "float16": "float16"}.get(type_name, type_name))
        arrays[tensor.name] = example_array(tensor.name, list(tensor.shape), dtype, rng)
    names = [output.name for output in session.get_outputs()]
    results = session.run(names, arrays)
    if not all(isinstance(result, np.ndarray) for result in results):
        raise ScaffoldError(f"{model_file}: some outputs are not tensors (a ZipMap?); export with zipmap=False")
    request = {name: array.tolist() for name, array in arrays.items()}
    return request, {name: result.tolist() for name, result in zip(names, results, strict=True)}


def scaffold(folder: Path, model_file: Path, name: str | None = None) -> Path:
    if not model_file.is_file() or model_file.suffix != ".onnx":
        raise ScaffoldError(f"--model {model_file}: not an .onnx file; pass the path of your model.onnx")
    if folder.exists() and not folder.is_dir():
        raise ScaffoldError(f"{folder}: is a file; choose a new folder (init never overwrites a file)")
    if folder.exists() and any(folder.iterdir()):
        raise ScaffoldError(
            f"{folder}: exists and is not empty; choose a new folder, or run `init {folder}` without --model to "
            "adopt the project in it"
        )
    image_name = checked_name(name) if name else safe_name(folder.resolve().name, "-")[:NAME_MAX].strip("-")
    # A file from a Triton repository (<model>/<version>/model.onnx) is named after its model folder.
    in_repository = model_file.parent.name.isdigit() and model_file.parent.parent.name
    model = safe_name(model_file.parent.parent.name if in_repository else model_file.stem, "_")
    request, expected = model_sample(model_file)
    version_dir = folder / "triton" / model / "1"
    version_dir.mkdir(parents=True)
    shutil.copyfile(model_file, version_dir / "model.onnx")
    (folder / "samples").mkdir()
    (folder / "samples" / "request.json").write_text(json.dumps({"inputs": request}) + "\n")
    (folder / "samples" / "expected.json").write_text(json.dumps(expected) + "\n")
    (folder / "score.py").write_text(render("scaffold/score.py.j2", model=model))
    (folder / SPEC_FILE).write_text(
        render("scaffold/image.yaml.j2", name=image_name, model_file=model_file.name, tolerance=TOLERANCE)
    )
    return folder
