"""image.yaml `environment:` values: scalars only, checked against the runtime's own settings declaration
(scoring/settings.py, loaded by path: the host never imports the in-image package)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Mapping
from functools import cache
from types import ModuleType
from typing import Any

from kit.paths import SCORING_DIR


def environment_value(name: str, value: Any) -> str:
    """The ENV text of a YAML scalar; raises ValueError naming the variable and the fix for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if value is None:
        return_fix = f'{name}: the value is empty (null); write a value, or "" for an empty string, or remove it'
        raise ValueError(return_fix)
    kind = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else type(value).__name__
    raise ValueError(f"{name}: the value is {kind}; environment values are strings, numbers or true/false")


@cache
def settings_module() -> ModuleType | None:
    """scoring.settings: the checkout's package when it is importable, else the packaged copy (kit/_share/scoring)
    registered as a bare `scoring` package whose __init__ is not run (it imports the in-image runtime)."""
    try:
        if importlib.util.find_spec("scoring") is None:
            package = ModuleType("scoring")
            package.__path__ = [str(SCORING_DIR)]
            sys.modules["scoring"] = package
        return importlib.import_module("scoring.settings")
    except Exception:  # a runtime that cannot be loaded here leaves the check to the smoke test
        return None


def settings_problems(environment: Mapping[str, str]) -> list[str]:
    """What the scoring runtime would refuse at start (WORKER_COUNT=-3 ...), found now."""
    module = settings_module()
    if module is None:
        return []
    try:
        module.Settings.from_env(dict(environment))
    except module.SettingsError as error:
        return [f"{error}; the scoring runtime would refuse it at start (docs/command.md lists the settings)"]
    return []
