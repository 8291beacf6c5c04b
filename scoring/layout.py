"""Where things are inside every image, and who runs them: declared once, read by the runtime and by the host side
(the templates receive these values as variables, the manifests and smoke test use them)."""

from __future__ import annotations

# The numeric non-root account the processes run as (NGC images already have it: triton-server).
UID = 1000
GID = 1000
# Azure ML's layout: the entry script's folder, and registered models under it as <name>/<version>/.
APP_ROOT = "/var/azureml-app"
MODELS_ROOT = f"{APP_ROOT}/azureml-models"
# Images without registered model folders keep their Triton repository at LEGACY_MODEL_DIR/triton.
LEGACY_MODEL_DIR = "/var/azureml-models"
# The scoring runtime: its Python (standalone bases), wheels, the image's own wheels, and the scoring package.
SCORING_ROOT = "/opt/scoring"
SCORING_LIB = f"{SCORING_ROOT}/lib"
IMAGE_LIB = f"{SCORING_ROOT}/image-lib"
RUNTIME_DIR = f"{SCORING_ROOT}/runtime"
STANDALONE_PYTHON_DIR = f"{SCORING_ROOT}/python"


def python_path() -> str:
    """PYTHONPATH of the scoring processes: the image's own wheels first, then the runtime's, then the package."""
    return ":".join((IMAGE_LIB, SCORING_LIB, RUNTIME_DIR))


def as_template_values() -> dict[str, object]:
    values: dict[str, object] = {name.lower(): value for name, value in globals().items() if name.isupper()}
    return {**values, "python_path": python_path()}
