"""The README is a front page: short, every reference page linked and present, its layout drawn from the tree."""

from __future__ import annotations

import re

from kit import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()


def test_readme_is_a_front_page() -> None:
    assert len(README.splitlines()) < 200


def test_every_docs_page_is_linked_and_every_link_resolves() -> None:
    linked = set(re.findall(r"\]\((docs/[^)]+\.md)\)", README))
    present = {f"docs/{path.name}" for path in (PROJECT_ROOT / "docs").glob("*.md")}
    assert linked == present


def test_layout_names_every_kit_stage_and_top_level_folder() -> None:
    layout = README[README.index("## Layout") :]
    stages = {path.parent.name for path in (PROJECT_ROOT / "kit").glob("*/__init__.py")}
    for stage in stages - {"_share"}:
        assert f"  {stage}/" in layout, stage
    for folder in ("kit", "scoring", "backends", "templates", "images", "models", "bench", "tests", "docs"):
        assert f"\n{folder}/" in layout, folder


def test_no_page_speaks_of_this_machine() -> None:
    for page in [PROJECT_ROOT / "README.md", *(PROJECT_ROOT / "docs").glob("*.md")]:
        assert "this machine" not in page.read_text().lower(), page.name
