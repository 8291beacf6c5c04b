"""The built image's scoring runtime against its base's C library: no ELF file under the installed wheels may need
a GLIBC_ symbol version the base lacks (ngc-20.09: 2.27), or the first import fails on the user's machine only."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterator

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from kit.docker import sdk
from kit.docker.containers import OWNER_LABEL
from kit.errors import BuildFailed
from kit.spec.bases import BaseProfile

# The wheels the Dockerfile installs; the standalone CPython is the tarball's own business (python-build-standalone
# targets glibc 2.17).
SCORING_PATHS = ("/opt/scoring/lib", "/opt/scoring/image-lib")
GLIBC_VERSION = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")


class GlibcTooNew(BuildFailed):
    pass


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def glibc_needs(data: bytes) -> set[str]:
    """The GLIBC_x.y symbol versions an ELF file needs (empty for anything that is not ELF)."""
    try:
        elf = ELFFile(io.BytesIO(data))
        needs = set()
        for section in elf.iter_sections():
            if isinstance(section, GNUVerNeedSection):
                for _, auxiliaries in section.iter_versions():
                    needs |= {aux.name for aux in auxiliaries if GLIBC_VERSION.match(aux.name)}
        return needs
    except ELFError:
        return set()


def elf_members(docker_client: sdk.DockerClient, image_id: str, path: str) -> Iterator[tuple[str, bytes]]:
    container = docker_client.containers.create(image_id, labels={OWNER_LABEL: "triton-kit"}, network_mode="none")
    try:
        try:
            stream, _ = container.get_archive(path)
        except sdk.NotFound:
            return
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream)), mode="r|*") as archive:
            for member in archive:
                if member.isfile() and (".so" in member.name or member.mode & 0o111):
                    handle = archive.extractfile(member)
                    data = handle.read() if handle else b""
                    if data[:4] == b"\x7fELF":
                        yield member.name, data
    finally:
        container.remove(force=True)


def check_glibc(docker_client: sdk.DockerClient, image_id: str, profile: BaseProfile) -> str:
    """Raise when a file needs a newer glibc than the profile's; return a one-line account of the check."""
    ceiling = version_tuple(profile.glibc)
    too_new, checked, highest = [], 0, ()
    for path in SCORING_PATHS:
        for name, data in elf_members(docker_client, image_id, path):
            checked += 1
            newest = max((version_tuple(need.removeprefix("GLIBC_")) for need in glibc_needs(data)), default=())
            highest = max(highest, newest)
            if newest > ceiling:
                too_new.append(f"  {path.rsplit('/', 1)[0]}/{name} needs GLIBC_{'.'.join(map(str, newest))}")
    if too_new:
        raise GlibcTooNew(
            f"the {profile.name} base has glibc {profile.glibc}, and these files need more:\n"
            + "\n".join(too_new)
            + "\nfix: pin an older release of their package (one with a manylinux wheel for that glibc)"
        )
    needed = ".".join(map(str, highest)) or "none"
    return (
        f"glibc: {checked} ELF files in the scoring wheels need at most GLIBC_{needed} (the base has {profile.glibc})"
    )
