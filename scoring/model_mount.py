"""Before Triton starts: the model repository must be there and readable. An image built with `mount: true` holds no
model, so a deployment that forgot to attach (mount) the registered model folder stops here with one line saying so,
instead of Triton's long failure to load an empty or missing repository."""

from __future__ import annotations

import os
from pathlib import Path


def holds_models(repository: Path) -> bool:
    """A Triton model repository: a folder of model folders holding integer version folders or a config.pbtxt."""
    models = [entry for entry in repository.iterdir() if entry.is_dir() and not entry.name.startswith(".")]
    return any(
        (model / "config.pbtxt").is_file() or any(child.is_dir() and child.name.isdigit() for child in model.iterdir())
        for model in models
    )


def repository_problem(model_dir: Path, repository: Path) -> str | None:
    """One line when Triton's repository is missing, unreadable or empty; None when Triton may start."""
    where = f"TRITON_MODEL_REPOSITORY={repository} (AZUREML_MODEL_DIR={model_dir})"
    fix = "attach the registered model folder read-only at AZUREML_MODEL_DIR (see docs/models.md)"
    try:
        if not repository.is_dir():
            return f"no model repository at {where}: the model folder is not mounted; {fix}"
        if not os.access(repository, os.R_OK | os.X_OK):
            return f"the model repository at {where} is not readable by uid {os.getuid()}; mount it readable by all"
        if not holds_models(repository):
            return f"the folder at {where} holds no Triton model (<model>/<version>/); {fix}"
    except OSError as error:
        return f"the model repository at {where} cannot be read ({error.strerror or error}); {fix}"
    return None
