"""Base profile resolution: BASE=auto prefers NGC 20.09 when present or pullable, else the embedded cpu base."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from kit.spec.bases import CPU, NGC_20_09, PROFILES, UnknownBaseError, resolve_base


@dataclass
class KnownImages:
    """An ImageSource over fixed answers (pure logic under test; the docker tier uses the real engine)."""

    local: set[str] = field(default_factory=set)
    pull_failure: str | None = "lookup nvcr.io: no such host"
    pulls: list[str] = field(default_factory=list)

    def has_image(self, reference: str) -> bool:
        return reference in self.local

    def try_pull(self, reference: str) -> str | None:
        self.pulls.append(reference)
        return self.pull_failure


def test_auto_uses_ngc_when_present_without_pulling() -> None:
    images = KnownImages(local={NGC_20_09.image})
    resolved = resolve_base("auto", images)
    assert resolved.profile is NGC_20_09
    assert images.pulls == []
    assert "present locally" in resolved.describe()


def test_auto_uses_ngc_when_pull_succeeds() -> None:
    resolved = resolve_base("auto", KnownImages(pull_failure=None))
    assert resolved.profile is NGC_20_09
    assert resolved.reason == "pulled"


def test_auto_falls_back_to_cpu_and_says_why() -> None:
    resolved = resolve_base("", KnownImages())
    assert resolved.profile is CPU
    line = resolved.describe()
    assert line.startswith("base: cpu (")
    assert "no such host" in line and NGC_20_09.image in line
    assert "\n" not in line


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_forced_profiles_never_probe(name: str) -> None:
    images = KnownImages()
    resolved = resolve_base(name, images)
    assert resolved.profile is PROFILES[name]
    assert images.pulls == []


def test_unknown_profile_lists_choices() -> None:
    with pytest.raises(UnknownBaseError, match=r"auto, ngc-20\.09, ngc-24\.12, cpu"):
        resolve_base("gpu", KnownImages())


def test_profiles_describe_their_python() -> None:
    assert not NGC_20_09.has_python_backend
    assert CPU.has_python_backend and CPU.embedded
    assert NGC_20_09.glibc == "2.27"
