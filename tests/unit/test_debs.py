"""The host-side .deb cache: which bases it serves, and the host's apt resolving against a base's dpkg status."""

from __future__ import annotations

import pytest

from kit.context.debs import BaseSystem, DebError, check_profile, host_codename, resolve
from kit.spec.bases import CPU, PROFILES

# A base that has only libc6: what the real base has is read from its image (an images-tier test builds one).
STATUS = """Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Architecture: amd64
Version: 2.36-9
Description: GNU C Library
"""


def test_only_bases_on_the_hosts_debian_release_take_system_packages() -> None:
    assert host_codename() == "bookworm"  # the cpu base is bookworm too (kit/base/rootfs.py)
    check_profile(["libmagic1"], CPU)
    for profile in PROFILES.values():
        if "bookworm" not in profile.os_release.lower():
            with pytest.raises(DebError, match=f"the {profile.name} base is {profile.os_release}"):
                check_profile(["libmagic1"], profile)
            check_profile([], profile)


def test_the_hosts_apt_resolves_what_the_base_lacks_with_versions() -> None:
    pins = resolve(["libmagic1"], BaseSystem("bookworm", STATUS))
    names = [pin.split("=")[0] for pin in pins]
    assert {"libmagic1", "libmagic-mgc"} <= set(names) and "libc6" not in names
    assert all("=" in pin and pin.split("=", 1)[1] for pin in pins)


def test_an_unknown_package_is_named_with_the_fix() -> None:
    with pytest.raises(DebError) as caught:
        resolve(["no-such-package-triton-kit"], BaseSystem("bookworm", STATUS))
    assert "Unable to locate package no-such-package-triton-kit" in str(caught.value)
    assert "apt-cache search" in str(caught.value)
