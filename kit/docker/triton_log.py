"""Why Triton refused a model, read from its log: one line per model, to show before any log tail."""

from __future__ import annotations

import re

# E1129 15:23:00.496315 1 model_lifecycle.cc:642] "failed to load 'm' version 1: Internal: TritonModelException: ..."
FAILED_LOAD = re.compile(r"""failed to load '(?P<model>[^']+)' version \d+: (?P<reason>.*?)(?:\\n|"?$)""", re.M)
# E... model_repository_manager.cc:703] "Invalid argument: ensemble classify allows maximum batch size 32, but ..."
ENSEMBLE = re.compile(
    r"""model_repository_manager\.cc:\d+\] "(?:[A-Za-z ]+: )?ensemble (?P<model>\S+) (?P<reason>.*?)"?$""", re.M
)
# E... model_repository_manager.cc:...] "Poll failed for model directory 'm': ..."
POLL_FAILED = re.compile(r"""Poll failed for model directory '(?P<model>[^']+)': (?P<reason>.*?)"?$""", re.M)
STATUS_PREFIX = re.compile(r"^(?:Internal|Invalid argument|Not found|Unavailable|Unknown|Unsupported): ")
EXCEPTION_PREFIX = re.compile(r"^(?:[A-Za-z_.]*(?:Exception|Error)): ")


def clean(reason: str) -> str:
    """Triton's reason without the status word and the Python exception class the backend stub adds."""
    reason = STATUS_PREFIX.sub("", reason.strip())
    return EXCEPTION_PREFIX.sub("", reason).rstrip('"')


def load_failures(log: str) -> list[str]:
    """`model '<m>': <reason>` for each model Triton failed to load, in log order, each model once."""
    found: dict[str, str] = {}
    for pattern in (FAILED_LOAD, POLL_FAILED):
        for match in pattern.finditer(log):
            found.setdefault(match["model"], clean(match["reason"]))
    for match in ENSEMBLE.finditer(log):
        found.setdefault(match["model"], f"ensemble {match['model']} {clean(match['reason'])}")
    return [f"model '{model}': {reason}" for model, reason in found.items()]


def explain(log: str, event: str, tail_lines: int = 30) -> str:
    """Triton's load failures first (when there are any), then what happened, then the last lines of the log."""
    tail = "\n".join(log.splitlines()[-tail_lines:])
    failures = load_failures(log)
    head = "".join(f"{failure}\n" for failure in failures)
    if failures:
        head = f"Triton failed to load {len(failures)} model(s):\n{head}"
    return f"{head}{event}; last {tail_lines} log lines:\n{tail}"
