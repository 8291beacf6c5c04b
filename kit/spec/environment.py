"""image.yaml `environment:` values: scalars only, checked against the runtime's own settings declaration
(scoring/settings.py, the one declaration of every runtime setting)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scoring import settings


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


def settings_problems(environment: Mapping[str, str]) -> list[str]:
    """What the scoring runtime would refuse at start (WORKER_COUNT=-3 ...), found now."""
    return [
        f"{problem}; the scoring runtime would refuse it at start (docs/settings.md lists the settings)"
        for problem in settings.problems(environment)
    ]
