"""Copying the user's folder into the build context: symlinks inside are followed (copied as their targets),
.amlignore and .dockerignore are honoured."""

from __future__ import annotations

from pathlib import Path

from kit.context.files import copy_tree
from kit.spec.ignore import IgnoreRules


def make(root: Path, files: list[str]) -> None:
    for relative in files:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative)


def copied(root: Path, target: Path) -> set[str]:
    copy_tree(root, target, ignored=IgnoreRules(root).ignored)
    return {path.relative_to(target).as_posix() for path in target.rglob("*") if path.is_file()}


def test_symlinked_folder_and_file_are_copied_as_their_targets(tmp_path: Path) -> None:
    root = tmp_path / "project"
    make(root, ["helpers/util.py", "score.py"])
    (root / "lib").symlink_to("helpers")
    (root / "main.py").symlink_to("score.py")
    (root / "helpers" / "loop").symlink_to("..")  # a cycle ends
    files = copied(root, tmp_path / "out")
    assert {"lib/util.py", "helpers/util.py", "main.py", "score.py"} <= files
    assert not (tmp_path / "out" / "lib").is_symlink() and not (tmp_path / "out" / "main.py").is_symlink()
    assert (tmp_path / "out" / "main.py").read_text() == "score.py"


def test_amlignore_follows_gitignore_rules(tmp_path: Path) -> None:
    root = tmp_path / "project"
    make(root, ["score.py", "venv/lib/x.py", "notebooks/a.ipynb", "src/data/big.csv", "src/keep.csv", "logs/a.log"])
    (root / ".amlignore").write_text("# comment\nvenv/\nnotebooks\n*.log\nsrc/data/\n!keep.csv\n")
    assert copied(root, tmp_path / "out") == {"score.py", "src/keep.csv"}


def test_dockerignore_patterns_are_rooted(tmp_path: Path) -> None:
    root = tmp_path / "project"
    make(root, ["score.py", "tmp/a.txt", "src/tmp/b.txt", "docs/x.md", "docs/y/z.md"])
    (root / ".dockerignore").write_text("tmp\ndocs/**/*.md\n")
    assert copied(root, tmp_path / "out") == {"score.py", "src/tmp/b.txt"}
