"""The entry script, checked by parsing (never imported): it must compile and define init() and run()."""

from __future__ import annotations

import ast
from pathlib import Path

from kit.spec.text_files import TextFileError, read_text

REQUIRED = ("init", "run")


def defined_names(tree: ast.Module) -> set[str]:
    """Top-level names a module defines: functions, assignments and imports (run = make_run() counts)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.If | ast.Try):  # try: import ... except ImportError: def run(...)
            inner = ast.Module(body=[*node.body, *getattr(node, "orelse", [])], type_ignores=[])
            names |= defined_names(inner)
            for handler in getattr(node, "handlers", []):
                names |= defined_names(ast.Module(body=handler.body, type_ignores=[]))
    return names


def entry_script_problems(path: Path, field: str = "entry_script") -> list[str]:
    try:
        text = read_text(path, label=f"{field}: {path.name}")
    except TextFileError as error:
        return [str(error)]
    try:
        tree = ast.parse(text, filename=path.name)
    except SyntaxError as error:
        return [
            f"{field}: {path.name} line {error.lineno}: does not compile ({error.msg}); fix the Python syntax there"
        ]
    except (ValueError, RecursionError, MemoryError) as error:
        return [f"{field}: {path.name} does not compile ({type(error).__name__}); fix the Python source"]
    missing = [name for name in REQUIRED if name not in defined_names(tree)]
    if not missing:
        return []
    wanted = " and ".join(f"{name}()" for name in missing)
    return [
        f"{field}: {path.name} defines no {wanted}; Azure ML entry scripts define init() (called once per worker) "
        "and run(raw_data) (called per request): add them"
    ]
