"""Load the user's entry script (score.py): init() once per worker, run() per request."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

COMPAT_DIR = Path(__file__).resolve().parent / "compat"
RAW_REQUEST_MARK = "_scoring_wants_raw_request"


class EntryScriptError(RuntimeError):
    pass


def rawhttp(run: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate run(request) to receive the raw request (bytes body, headers, method, args) instead of a str body."""
    setattr(run, RAW_REQUEST_MARK, True)
    return run


@dataclass(frozen=True)
class EntryScript:
    path: Path
    init: Callable[[], Any] | None
    run: Callable[..., Any]
    wants_raw_request: bool


def load(path: Path) -> EntryScript:
    if not path.is_file():
        raise EntryScriptError(
            f"entry script {path} not found: put score.py in AML_APP_ROOT or set AZUREML_ENTRY_SCRIPT"
        )
    for directory in (str(COMPAT_DIR), str(path.parent)):
        if directory not in sys.path:
            sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location("score", str(path))
    if spec is None or spec.loader is None:
        raise EntryScriptError(f"entry script {path} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules["score"] = module
    spec.loader.exec_module(module)
    run = getattr(module, "run", None)
    if not callable(run):
        raise EntryScriptError(f"entry script {path} defines no run() function: add `def run(raw_data): ...`")
    init = getattr(module, "init", None)
    if init is not None and (not callable(init) or inspect.signature(init).parameters):
        raise EntryScriptError(f"entry script {path}: init must be a function without arguments")
    return EntryScript(path, init, run, bool(getattr(run, RAW_REQUEST_MARK, False)))
