"""pip requirements from image.yaml (a list or a requirements file), without the packages the kit replaces.

Azure ML projects list `azureml-defaults` / `azureml-inference-server-http` (the scoring server the image's runtime
replaces) and `nvidia-pyindex` (no wheel: it only points pip at NVIDIA's index); these are dropped and named.
"""

from __future__ import annotations

import re
from pathlib import Path

from kit.spec.text_files import TextFileError, read_text

REPLACED_BY_KIT = {
    "azureml-defaults": "the image's scoring runtime replaces Azure ML's scoring server",
    "azureml-inference-server-http": "the image's scoring runtime replaces Azure ML's scoring server",
    "nvidia-pyindex": "it has no wheel, it only points pip at NVIDIA's index; tritonclient is on PyPI",
}
PIP_OPTION = re.compile(r"^\s*-")


def project_name(requirement: str) -> str:
    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def requirement_file_lines(path: Path, field: str) -> tuple[list[str], list[str]]:
    """(requirement lines, problems) of a requirements.txt: comments and blanks skipped, pip options refused."""
    try:
        text = read_text(path, label=f"{field}: {path.name}")
    except TextFileError as error:
        return [], [str(error)]
    lines, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if PIP_OPTION.match(line):
            problems.append(
                f"{field}: {path.name} line {number}: pip option {line!r} is not supported (the kit downloads from "
                "PyPI on the host); remove it and list plain requirements"
            )
        elif not project_name(line):
            problems.append(f"{field}: {path.name} line {number}: {line!r} is not a requirement (name==version)")
        else:
            lines.append(line)
    return lines, problems


def split_replaced(lines: list[str]) -> tuple[list[str], list[str]]:
    """(kept lines, dropped project names, each once)."""
    kept, dropped = [], []
    for line in lines:
        name = project_name(line)
        if name in REPLACED_BY_KIT:
            if name not in dropped:
                dropped.append(name)
        else:
            kept.append(line)
    return kept, dropped
