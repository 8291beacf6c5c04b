"""An Azure ML project folder as users bring it (not an image folder): score.py and its helper, the registered
model folder models/ (holding the Triton repository), requirements.txt with the Triton tutorial's pip lines,
environment.yml, .amlignore with a venv/ and notebooks/ it must keep out, raw-bytes request samples."""

from __future__ import annotations

import shutil
from pathlib import Path

from kit import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "images" / "aml-digits"
# Microsoft's Triton tutorial installs these; the kit drops azureml-defaults and nvidia-pyindex (and says so).
REQUIREMENTS = "azureml-defaults\npillow==12.3.0  # images\nnvidia-pyindex\ntritonclient[http]\n"


def make_aml_project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    # Registered under its folder's name (models), as `az ml model create --path models` with no --name would.
    score = (SOURCE / "score.py").read_text().replace('MODEL_NAME = "digits-model"', 'MODEL_NAME = "models"')
    (folder / "score.py").write_text(score)
    shutil.copyfile(SOURCE / "onnxruntimetriton.py", folder / "onnxruntimetriton.py")
    shutil.copytree(SOURCE / "models", folder / "models")
    shutil.copyfile(SOURCE / "environment.yml", folder / "environment.yml")
    (folder / "requirements.txt").write_text(REQUIREMENTS)
    (folder / ".amlignore").write_text("venv/\nnotebooks/\n*.log\n")
    (folder / "samples").mkdir()
    for name in ("zero.png", "seven.jpg"):
        shutil.copyfile(SOURCE / "samples" / name, folder / "samples" / name)
    (folder / "venv" / "bin").mkdir(parents=True)
    (folder / "venv" / "bin" / "python").symlink_to("/usr/bin/python3")  # outside, but ignored: not an error
    (folder / "notebooks").mkdir()
    (folder / "notebooks" / "explore.ipynb").write_text("{}")
    (folder / "train.log").write_text("epoch 1\n")
    return folder
