"""triton-kit: build, test and push Triton scoring images."""

from pathlib import Path

__version__ = "0.1.0"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
