from __future__ import annotations

from pathlib import Path

from kit.context.wheelhouse import WheelSet, pinned_versions


def test_pinned_versions_normalises_names() -> None:
    files = [
        Path("Jinja2-3.1.6-py3-none-any.whl"),
        Path("typing_extensions-4.12.2-py3-none-any.whl"),
        Path("notes.txt"),
    ]
    assert pinned_versions(files) == {"jinja2": "3.1.6", "typing-extensions": "4.12.2"}


def test_fingerprint_changes_with_any_input() -> None:
    base = WheelSet(("numpy==1.26.4",), "3.11", ("manylinux2014_x86_64",))
    assert base.fingerprint() == WheelSet(("numpy==1.26.4",), "3.11", ("manylinux2014_x86_64",)).fingerprint()
    assert base.fingerprint() != WheelSet(("numpy==1.26.3",), "3.11", ("manylinux2014_x86_64",)).fingerprint()
    assert base.fingerprint() != WheelSet(("numpy==1.26.4",), "3.10", ("manylinux2014_x86_64",)).fingerprint()
    no_deps = WheelSet(("numpy==1.26.4",), "3.11", ("manylinux2014_x86_64",), with_dependencies=False)
    assert base.fingerprint() != no_deps.fingerprint()
