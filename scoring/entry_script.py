"""Load the user's entry script (score.py): init() once per worker, run() per request; both are required, as on
Azure ML's server.

run() is called the way Azure ML's server calls it: with the body as a str (undecorated), the request itself
(@rawhttp), or the JSON body's fields as keyword arguments (inference_schema's @input_schema); plus
`request_headers` when run() declares that parameter.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMPAT_DIR = Path(__file__).resolve().parent / "compat"
RAW_REQUEST_MARK = "_scoring_wants_raw_request"
RAW, SCHEMA, TEXT = "raw", "schema", "text"


class EntryScriptError(RuntimeError):
    pass


def rawhttp(run: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate run(request) to receive the raw request (bytes body, headers, method, args) instead of a str body."""
    setattr(run, RAW_REQUEST_MARK, True)
    return run


@dataclass(frozen=True)
class EntryScript:
    path: Path
    init: Callable[[], Any]
    run: Callable[..., Any]
    mode: str = TEXT
    # Names run() takes its input under; for SCHEMA mode, with their defaults (inspect.Parameter.empty if none).
    parameters: tuple[tuple[str, Any], ...] = ()
    wants_headers: bool = False

    @property
    def wants_raw_request(self) -> bool:
        return self.mode == RAW


def schema_decorated(run: Callable[..., Any]) -> bool:
    if "inference_schema" not in sys.modules:  # never imported: the script cannot use its decorators
        return False
    from inference_schema.schema_util import is_schema_decorated

    return bool(is_schema_decorated(run))


def analyse(path: Path, run: Callable[..., Any]) -> tuple[str, tuple[tuple[str, Any], ...], bool]:
    parameters = list(inspect.signature(run).parameters.values())
    if any(p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters):
        raise EntryScriptError(f"entry script {path}: run() cannot take positional-only arguments, *args or **kwargs")
    wants_headers = any(p.name == "request_headers" for p in parameters)
    inputs = [p for p in parameters if p.name != "request_headers"]
    if not inputs:
        raise EntryScriptError(f"entry script {path}: run() needs an argument for the input data, e.g. run(data)")
    raw, schema = bool(getattr(run, RAW_REQUEST_MARK, False)), schema_decorated(run)
    if raw and schema:
        raise EntryScriptError(f"entry script {path}: run() cannot be decorated with both @rawhttp and @input_schema")
    mode = RAW if raw else SCHEMA if schema else TEXT
    names = tuple((p.name, p.default) for p in (inputs if mode == SCHEMA else inputs[:1]))
    return mode, names, wants_headers


def load(path: Path) -> EntryScript:
    if not path.is_file():
        raise EntryScriptError(
            f"entry script {path} not found: put score.py in AML_APP_ROOT or set AZUREML_ENTRY_SCRIPT"
        )
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    # After the script's folder; azureml/ in it is a namespace package, so an installed azureml-core still wins.
    if str(COMPAT_DIR) not in sys.path:
        sys.path.insert(1, str(COMPAT_DIR))
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
    if init is None:  # Azure ML's server refuses such a script too: one that starts here must start there
        raise EntryScriptError(f"entry script {path} defines no init() function: add `def init(): pass`")
    if not callable(init) or inspect.signature(init).parameters:
        raise EntryScriptError(f"entry script {path}: init must be a function without arguments")
    mode, parameters, wants_headers = analyse(path, run)
    return EntryScript(path, init, run, mode, parameters, wants_headers)
