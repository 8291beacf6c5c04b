"""Triton's command line per release, as data generated from Triton's own source (kit/base/triton_option_tables.py).

The supervisor builds tritonserver's command from the table of the release its base carries (TRITON_RELEASE), so it
never passes an option that release lacks: Triton answers an unknown option with its usage text and exits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TABLES_DIR = Path(__file__).resolve().parent


class UnknownTritonRelease(LookupError):
    pass


@dataclass(frozen=True)
class TritonOptions:
    release: str
    options: frozenset[str]
    strict_model_config_default: bool

    def has(self, option: str) -> bool:
        return option in self.options

    def unknown(self, arguments: list[str] | tuple[str, ...]) -> list[str]:
        """The arguments naming a long option this release does not have (values after `--x` are skipped)."""
        return [
            argument
            for argument in arguments
            if argument.startswith("--") and argument[2:].partition("=")[0] not in self.options
        ]

    def auto_complete_args(self) -> tuple[str, ...]:
        """What makes Triton fill in config.pbtxt from the model file on this release."""
        return ("--strict-model-config=false",) if self.strict_model_config_default else ()


def releases() -> list[str]:
    return sorted(path.stem.removeprefix("v") for path in TABLES_DIR.glob("v*.json"))


def newest() -> str:
    return max(releases(), key=lambda release: tuple(int(part) for part in release.split(".")))


def load(release: str) -> TritonOptions:
    path = TABLES_DIR / f"v{release}.json"
    if not path.is_file():
        raise UnknownTritonRelease(f"TRITON_RELEASE={release!r}: no option table; known: {', '.join(releases())}")
    table = json.loads(path.read_text())
    return TritonOptions(table["release"], frozenset(table["options"]), table["strict_model_config_default"])
