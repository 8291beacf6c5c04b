"""image.yaml `environment:` values: scalars only, checked against the runtime's own settings declaration
(scoring/settings.py, loaded by path: the host never imports the in-image package)."""

from __future__ import annotations

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
    path = SCORING_DIR / "settings.py"
    spec = importlib.util.spec_from_file_location("triton_kit_scoring_settings", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


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
