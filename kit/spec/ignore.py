"""The user's ignore files (.amlignore, .dockerignore) as one matcher: what stays out of the image's app folder.

.amlignore follows .gitignore rules (a pattern without a slash matches at any depth); .dockerignore patterns are
relative to the folder's root. Both: `*`, `?`, `**`, a trailing `/` for folders only, `!` to re-include, `#` comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kit.spec.text_files import TextFileError, read_text

IGNORE_FILES = (".amlignore", ".dockerignore")


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    negated: bool
    folders_only: bool


def translate(pattern: str) -> str:
    """A glob (with ** across folders) as a regular expression over a relative posix path."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end].replace("\\", "\\\\")
                out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def parse_rules(text: str, anchored: bool) -> list[Rule]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line.removeprefix("!")
        folders_only = line.endswith("/")
        line = line.strip("/") if anchored else line.rstrip("/")
        if not line:
            continue
        rooted = anchored or "/" in line
        body = translate(line.lstrip("/"))
        prefix = "" if rooted else "(?:.*/)?"
        try:
            rules.append(Rule(re.compile(f"^{prefix}{body}(?:/.*)?$"), negated, folders_only))
        except re.error:
            continue  # an unbalanced class matches nothing, as in git
    return rules


class IgnoreRules:
    """Matches paths relative to `root` against .amlignore and .dockerignore (either file may be absent)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rules: list[Rule] = []
        self.problems: list[str] = []
        for name, anchored in ((".amlignore", False), (".dockerignore", True)):
            path = root / name
            if not path.is_file():
                continue
            try:
                self.rules += parse_rules(read_text(path), anchored)
            except TextFileError as error:
                self.problems.append(str(error))

    def ignored(self, path: Path) -> bool:
        try:
            relative = path.relative_to(self.root).as_posix()
        except ValueError:
            return False
        if relative in ("", "."):
            return False
        result = False
        for rule in self.rules:
            if rule.regex.match(relative) and (not rule.folders_only or self.is_folder_match(rule, relative, path)):
                result = not rule.negated
        return result

    @staticmethod
    def is_folder_match(rule: Rule, relative: str, path: Path) -> bool:
        """A trailing-slash rule matches a folder itself or anything beneath a matching folder."""
        parts = relative.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if rule.regex.match(prefix) and rule.regex.pattern.endswith("(?:/.*)?$"):
                stripped = re.compile(rule.regex.pattern.removesuffix("(?:/.*)?$") + "$")
                if stripped.match(prefix) and (depth < len(parts) or path.is_dir()):
                    return True
        return False
