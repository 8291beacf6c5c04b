"""`make models`: write every example's model files and expected sample outputs (deterministic, offline)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from models.onnx_models import mlp

IMAGES = Path(__file__).resolve().parent.parent / "images"


def save_onnx(model: onnx.ModelProto, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString(deterministic=True))


def mlp_classifier(folder: Path) -> None:
    """Tiny 8-16-3 MLP; the sample's expected answer is onnxruntime's on the host."""
    model_path = folder / "triton" / "mlp" / "1" / "model.onnx"
    save_onnx(mlp((8, 16, 3), seed=0), model_path)
    request = json.loads((folder / "samples" / "request.json").read_text())
    batch = np.asarray(request["data"], dtype=np.float32)
    probabilities = ort.InferenceSession(str(model_path)).run(["probabilities"], {"x": batch})[0]
    expected = {
        "labels": [int(row.argmax()) for row in probabilities],
        "probabilities": [[round(float(value), 6) for value in row] for row in probabilities],
    }
    (folder / "samples" / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")


EXAMPLES: dict[str, Callable[[Path], None]] = {"mlp-classifier": mlp_classifier}


def main(names: list[str]) -> int:
    for name in names or list(EXAMPLES):
        EXAMPLES[name](IMAGES / name)
        print(f"models: wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
