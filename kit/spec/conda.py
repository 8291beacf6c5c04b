"""An Azure ML conda environment file as pip requirements: its `pip:` section; conda-only packages are refused."""

from __future__ import annotations

import re
from pathlib import Path

from kit.spec.text_files import TextFileError, load_yaml, read_text

# Entries that describe the interpreter and its installer, not packages: the image brings its own Python and pip.
TOOLING = re.compile(r"^(python|pip)\s*([=<>!~].*)?$")
PIP_OPTION = re.compile(r"^\s*-")


def pip_requirements(path: Path, field: str = "conda_file") -> tuple[list[str], list[str]]:
    """(requirements, problems) from a conda environment file; problems name the field and the fix. Packages the
    kit replaces (kit/spec/requirements.py) are dropped, and named, where all requirement sources meet."""
    try:
        data = load_yaml(read_text(path, label=f"{field}: {path.name}"), f"{field}: {path.name}")
    except TextFileError as error:
        return [], [str(error)]
    dependencies = data.get("dependencies") if isinstance(data, dict) else None
    if not isinstance(dependencies, list):
        return [], [f"{field}: {path.name} has no dependencies: list; add one with a pip: section"]
    requirements: list[str] = []
    conda_only: list[str] = []
    problems: list[str] = []
    for entry in dependencies:
        if isinstance(entry, dict) and set(entry) == {"pip"} and isinstance(entry["pip"], list):
            for line in entry["pip"]:
                text = str(line).strip()
                if PIP_OPTION.match(text):
                    problems.append(
                        f"{field}: {path.name} pip option {text!r} is not supported; list plain requirements only"
                    )
                elif text:
                    requirements.append(text)
        elif isinstance(entry, str) and TOOLING.match(entry.strip()):
            continue
        else:
            conda_only.append(str(entry))
    if conda_only:
        problems.append(
            f"{field}: {path.name} lists conda-only packages the kit cannot install: {', '.join(conda_only)}; "
            "move them to its pip: section (pip names and == pins, e.g. numpy==1.26.4) or to requirements"
        )
    return requirements, problems
