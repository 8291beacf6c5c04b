"""Reading the user's text files strictly: UTF-8 only (the encoding is named when it is not), YAML without
duplicate keys. Every problem is returned as text naming the file and the fix, never raised as a traceback."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import yaml

BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}
SAVE_AS_UTF8 = "save it as UTF-8 (in most editors: File > Save with Encoding > UTF-8)"


class TextFileError(ValueError):
    """A file that cannot be read as the kit needs it; the message names the file and the fix."""


def read_text(path: Path, label: str | None = None) -> str:
    """The file's text as UTF-8 (a UTF-8 byte-order mark is allowed); raises TextFileError naming the encoding."""
    name = label or str(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise TextFileError(f"{name}: is a folder, not a file; give the path of a file") from None
    except OSError as error:
        raise TextFileError(
            f"{name}: cannot be read ({error.strerror or error}); check it exists and is readable"
        ) from None
    for bom, encoding in BOMS.items():
        if data.startswith(bom):
            raise TextFileError(f"{name}: is {encoding} text; {SAVE_AS_UTF8}")
    if b"\x00" in data[:4096] and len(data) > 1 and (data[0] == 0 or data[1] == 0):
        raise TextFileError(f"{name}: looks like UTF-16 text without a byte-order mark; {SAVE_AS_UTF8}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise TextFileError(
            f"{name}: line {line}: byte {data[error.start]:#04x} is not UTF-8; {SAVE_AS_UTF8}"
        ) from None
    if "\x00" in text:
        raise TextFileError(f"{name}: holds a NUL character, so it is not a text file; {SAVE_AS_UTF8}")
    return text


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that records every duplicate mapping key instead of silently keeping the last one."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            try:
                key = self.construct_object(key_node, deep=True)
                hash(key)
            except (TypeError, yaml.YAMLError):
                continue  # the base class reports unhashable keys itself
            line = key_node.start_mark.line + 1
            if key in seen:
                self.duplicates.append(f"line {line}: key {key!r} appears again (first on line {seen[key]})")
            else:
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, name: str) -> Any:
    """The YAML document in `text`; raises TextFileError listing every duplicate key or the syntax error."""
    loader: UniqueKeyLoader | None = None
    try:
        loader = UniqueKeyLoader(text)
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise TextFileError(f"{name}: not valid YAML: {where}{problem}; fix the indentation or quoting there") from None
    except (RecursionError, ValueError, TypeError, OverflowError) as error:
        raise TextFileError(f"{name}: not valid YAML ({type(error).__name__}); simplify the document") from None
    finally:
        if loader is not None:
            loader.dispose()
    if loader.duplicates:
        raise TextFileError(
            f"{name}: duplicate keys (YAML would keep only the last value):\n  "
            + "\n  ".join(loader.duplicates)
            + "\n  fix: keep one of each and delete the others"
        )
    return data
