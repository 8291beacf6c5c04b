"""`make models`: write every example's model files, sample requests and expected outputs (deterministic, offline).

Expected outputs come from onnxruntime (or numpy) on the host, never from the image under test, so the smoke test
compares the served path (pre-processing, Triton, post-processing) against an independent computation.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image
from sklearn.datasets import load_digits

from models.examples import digits_classifier, heavy_mlp, span_reader
from models.onnx_models import mlp

IMAGES = Path(__file__).resolve().parent.parent / "images"


def save_onnx(model: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString(deterministic=True))
    return path


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")


def run_onnx(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds), strict=True))


def load_entry_script(folder: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{folder.name.replace('-', '_')}", folder / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mlp_classifier(folder: Path) -> None:
    """Tiny 8-16-3 MLP."""
    model_path = save_onnx(mlp((8, 16, 3), seed=0), folder / "triton" / "mlp" / "1" / "model.onnx")
    request = json.loads((folder / "samples" / "request.json").read_text())
    probabilities = run_onnx(model_path, {"x": np.asarray(request["data"], dtype=np.float32)})["probabilities"]
    write_json(
        folder / "samples" / "expected.json",
        {
            "labels": [int(row.argmax()) for row in probabilities],
            "probabilities": [[round(float(value), 6) for value in row] for row in probabilities],
        },
    )


def top3(probabilities: np.ndarray, digits: int | None = 6) -> list[list[dict[str, float]]]:
    rows = []
    for row in probabilities:
        order = np.argsort(-row, kind="stable")[:3]
        rows.append([{"label": int(i), "probability": round(float(row[i]), digits) if digits else float(row[i])}
                     for i in order])  # fmt: skip
    return rows


def digits_samples() -> tuple[np.ndarray, np.ndarray]:
    digits = load_digits()
    return digits.images[[0, 1, 7]].astype(np.float32), digits.target[[0, 1, 7]]


def png_base64(image: np.ndarray) -> str:
    grey = Image.fromarray(np.round(image * (255.0 / 16.0)).astype(np.uint8), mode="L")
    buffer = io.BytesIO()
    grey.save(buffer, format="PNG", optimize=False)
    return base64.b64encode(buffer.getvalue()).decode()


def digits_onnx(folder: Path) -> None:
    """Logistic regression on the bundled digits; pixel-list and base64-PNG samples."""
    model_path = save_onnx(digits_classifier(), folder / "triton" / "digits" / "1" / "model.onnx")
    images, _ = digits_samples()
    write_json(folder / "samples" / "pixels.json", {"images": [image.tolist() for image in images[:2]]})
    pixels = images[:2].reshape(2, 64)
    write_json(folder / "samples" / "pixels.expected.json",
               {"predictions": top3(run_onnx(model_path, {"pixels": pixels})["probabilities"])})  # fmt: skip
    write_json(folder / "samples" / "png.json", {"images": [png_base64(images[2])]})
    decoded = np.round(images[2] * (255.0 / 16.0)).reshape(1, 64).astype(np.float32) * (16.0 / 255.0)
    write_json(folder / "samples" / "png.expected.json",
               {"predictions": top3(run_onnx(model_path, {"pixels": decoded})["probabilities"])})  # fmt: skip


def seed_style(folder: Path) -> None:
    """The digits model again, called the way the seed guide's score.py calls it."""
    model_path = save_onnx(digits_classifier(), folder / "triton" / "digits" / "1" / "model.onnx")
    images, _ = digits_samples()
    batch = images[:2].reshape(2, 64)
    write_json(folder / "samples" / "request.json", {"data": batch.tolist()})
    write_json(folder / "samples" / "expected.json", top3(run_onnx(model_path, {"pixels": batch})["probabilities"]))


def sensor_anomaly(folder: Path) -> None:
    """Python-backend model: the expected scores are the same z-scores computed with numpy here."""
    mean, std, threshold = np.array([20.0, 1013.0, 45.0, 0.5]), np.array([5.0, 10.0, 15.0, 0.2]), 3.0
    fields = ("temperature", "pressure", "humidity", "vibration")
    readings = json.loads((folder / "samples" / "request.json").read_text())["readings"]
    values = np.array([[reading[field] for field in fields] for reading in readings], dtype=np.float32)
    scores = np.abs((values - mean.astype(np.float32)) / std.astype(np.float32)).max(axis=1)
    expected = [{"score": round(float(score), 5), "anomalous": bool(score > threshold)} for score in scores]
    write_json(folder / "samples" / "expected.json", expected)


def text_reader(folder: Path) -> None:
    """Span reader: the image's own tokeniser and span search, with onnxruntime in place of Triton."""
    model_path = save_onnx(span_reader(), folder / "triton" / "span_reader" / "1" / "model.onnx")
    script = load_entry_script(folder)
    answers = []
    for item in json.loads((folder / "samples" / "request.json").read_text()):
        context, question = script.tokenize(item["context"], item["question"])
        feeds = {
            "context_ids": script.encode(context, script.CONTEXT_TOKENS)[None, :],
            "question_ids": script.encode(question, script.QUESTION_TOKENS)[None, :],
        }
        outputs = run_onnx(model_path, feeds)
        answers.append(script.answer(context, outputs["start_logits"][0], outputs["end_logits"][0]))
    write_json(folder / "samples" / "expected.json", answers)


def heavy(folder: Path) -> None:
    """64-2048-2048-2048-10 MLP (34 MB: generated, not committed)."""
    model_path = save_onnx(heavy_mlp(), folder / "triton" / "heavy_mlp" / "1" / "model.onnx")
    batch = np.random.default_rng(5).standard_normal((2, 64)).astype(np.float32)
    write_json(folder / "samples" / "request.json", {"data": batch.tolist()})
    probabilities = run_onnx(model_path, {"x": batch})["probabilities"]
    write_json(folder / "samples" / "expected.json",
               {"labels": probabilities.argmax(axis=1).tolist(),
                "confidence": [round(float(value), 6) for value in probabilities.max(axis=1)]})  # fmt: skip


def seed_registered(folder: Path) -> None:
    """heavy-mlp's model in a registered folder (model/triton/), mounted at start; raw float32 rows as samples."""
    model_path = save_onnx(heavy_mlp(), folder / "model" / "triton" / "heavy_mlp" / "1" / "model.onnx")
    batch = np.random.default_rng(5).standard_normal((2, 64)).astype(np.float32)
    (folder / "samples").mkdir(parents=True, exist_ok=True)
    (folder / "samples" / "rows.bin").write_bytes(batch.astype("<f4").tobytes())
    (folder / "samples" / "not-whole-rows.bin").write_bytes(batch.astype("<f4").tobytes()[:300])
    probabilities = run_onnx(model_path, {"x": batch})["probabilities"]
    write_json(folder / "samples" / "expected.json",
               {"labels": probabilities.argmax(axis=1).tolist(),
                "confidence": [round(float(value), 6) for value in probabilities.max(axis=1)]})  # fmt: skip


def sniffed_uploads(folder: Path) -> None:
    """The tiny MLP again, fed the same rows as a JSON document and as a CSV file (told apart by libmagic)."""
    model_path = save_onnx(mlp((8, 16, 3), seed=0), folder / "triton" / "mlp" / "1" / "model.onnx")
    rows = np.random.default_rng(11).standard_normal((3, 8)).round(4).astype(np.float32)
    write_json(folder / "samples" / "rows.json", {"data": rows.tolist()})
    lines = [",".join(f"{value:.4f}" for value in row) for row in rows.astype(np.float64)]
    (folder / "samples" / "rows.csv").write_text("\n".join(lines) + "\n")
    labels = run_onnx(model_path, {"x": rows})["probabilities"].argmax(axis=1).tolist()
    write_json(folder / "samples" / "rows.expected.json", {"format": "application/json", "labels": labels})
    write_json(folder / "samples" / "rows-csv.expected.json", {"format": "text/csv", "labels": labels})


def image_bytes(image: np.ndarray, image_format: str, scale: int = 1) -> bytes:
    grey = Image.fromarray(np.round(image * (255.0 / 16.0)).astype(np.uint8), mode="L")
    if scale > 1:
        grey = grey.resize((8 * scale, 8 * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    grey.save(buffer, format=image_format, **({"quality": 95} if image_format == "JPEG" else {}))
    return buffer.getvalue()


def aml_digits(folder: Path) -> None:
    """The digits model in an Azure ML registered folder; raw PNG/JPEG samples answered as text (score.py's labels)."""
    model_path = save_onnx(digits_classifier(), folder / "models" / "triton" / "digits" / "1" / "model.onnx")
    names = (folder / "models" / "triton" / "digits" / "labels.txt").read_text().split("\n")
    images, targets = digits_samples()
    samples = folder / "samples"
    (samples / "zero.png").write_bytes(image_bytes(images[0], "PNG"))
    (samples / "seven.jpg").write_bytes(image_bytes(images[2], "JPEG", scale=4))
    for file_name, target in (("zero.png", targets[0]), ("seven.jpg", targets[2])):
        grey = Image.open(samples / file_name).convert("L").resize((8, 8))  # score.py's pre-processing
        pixels = (np.asarray(grey, dtype=np.float32) * (16.0 / 255.0)).reshape(1, 64)
        label = int(run_onnx(model_path, {"pixels": pixels})["probabilities"].argmax())
        assert label == target, f"{file_name}: the model reads {label}, not {target}; the sample text would be wrong"
    pixels = images[1].reshape(1, 64)
    label = int(run_onnx(model_path, {"pixels": pixels})["probabilities"].argmax())
    write_json(samples / "pixels.json", {"data": pixels[0].tolist()})
    write_json(samples / "pixels.expected.json", {"label": label, "name": names[label]})


EXAMPLES: dict[str, Callable[[Path], None]] = {
    "aml-digits": aml_digits,
    "mlp-classifier": mlp_classifier,
    "digits-onnx": digits_onnx,
    "seed-style": seed_style,
    "sensor-anomaly": sensor_anomaly,
    "text-reader": text_reader,
    "heavy-mlp": heavy,
    "sniffed-uploads": sniffed_uploads,
    "seed-registered": seed_registered,
}


def main(names: list[str]) -> int:
    for name in names or list(EXAMPLES):
        EXAMPLES[name](IMAGES / name)
        print(f"models: wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
