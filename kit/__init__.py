"""triton-kit: build, test and push Triton scoring images."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__version__ = "0.1.0"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _expose_runtime_facts() -> None:
    """The host reads the runtime's own declarations (scoring.settings, scoring.layout, scoring.triton_options).
    Installed from the wheel, the runtime is package data (kit/_share/scoring): register it as `scoring` without
    running its __init__, which imports the in-image app; its fact modules import nothing heavy."""
    if importlib.util.find_spec("scoring") is not None:
        return
    package = ModuleType("scoring")
    package.__path__ = [str(Path(__file__).resolve().parent / "_share" / "scoring")]
    sys.modules["scoring"] = package


_expose_runtime_facts()
