"""Triton's command-line option table per release, read from Triton's own source at the release's tag.

`make triton-options TRITON_SOURCE=<git clone of triton-inference-server/server>` rewrites
scoring/triton_options/v<release>.json for every release a base profile names. The tables are committed (CI cannot
reach GitHub) and carry the tag, source path and blob id they came from, so a reviewer can check them with
`git -C <clone> rev-parse <tag>:<path>`. The supervisor builds Triton's command from the table in the image.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

from kit.spec.bases import PROFILES
from scoring.triton_options import TABLES_DIR

REPOSITORY = "https://github.com/triton-inference-server/server"
# Where the option table lived: src/servers/main.cc until 2.29, src/command_line_parser.cc after.
SOURCES = ("src/command_line_parser.cc", "src/servers/main.cc")
OPTION_ENTRY = re.compile(r"\{\s*OPTION_[A-Z0-9_]+\s*,\s*\"([a-z0-9-]+)\"")
# The strict-config default: a local in main.cc (2.3.0), a member initialiser in command_line_parser.h later.
STRICT_DEFAULT = re.compile(r"bool\s+strict_model_config_?\s*(?:=\s*|\{)\s*(true|false)")
STRICT_DEFAULT_SOURCES = ("src/command_line_parser.h", "src/servers/main.cc")


def git_show(clone: Path, tag: str, path: str) -> str | None:
    result = subprocess.run(
        ["git", "-C", str(clone), "show", f"{tag}:{path}"], capture_output=True, text=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def blob_id(clone: Path, tag: str, path: str) -> str:
    command = ["git", "-C", str(clone), "rev-parse", f"{tag}:{path}"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def read_table(clone: Path, release: str) -> dict[str, object]:
    tag = f"v{release}"
    for path in SOURCES:
        text = git_show(clone, tag, path)
        if text and OPTION_ENTRY.search(text):
            break
    else:
        raise SystemExit(f"{tag}: no option table in {', '.join(SOURCES)}")
    strict_default = None
    for strict_path in STRICT_DEFAULT_SOURCES:
        match = STRICT_DEFAULT.search(git_show(clone, tag, strict_path) or "")
        if match:
            strict_default = match[1] == "true"
            break
    if strict_default is None:
        raise SystemExit(f"{tag}: strict-model-config default not found in {', '.join(STRICT_DEFAULT_SOURCES)}")
    return {
        "release": release,
        "repository": REPOSITORY,
        "tag": tag,
        "source": path,
        "blob": blob_id(clone, tag, path),
        "strict_model_config_default": strict_default,
        "strict_model_config_default_source": strict_path,
        "options": sorted(set(OPTION_ENTRY.findall(text))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clone", type=Path, help="a git clone of triton-inference-server/server with its tags")
    clone = parser.parse_args().clone
    TABLES_DIR.mkdir(exist_ok=True)
    for release in sorted({profile.triton_version for profile in PROFILES.values()}):
        table = read_table(clone, release)
        (TABLES_DIR / f"v{release}.json").write_text(json.dumps(table, indent=2) + "\n")
        print(f"v{release}: {len(table['options'])} options from {table['source']} (blob {table['blob']})")


if __name__ == "__main__":
    main()
