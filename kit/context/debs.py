"""Host-side .deb cache: Debian packages for an image, resolved against its base and downloaded on the host.

`docker build` has no network here (and air-gapped users have none), so like the wheelhouse the host does the
fetching: apt on the host resolves the packages against the base's own dpkg status (so only what the base lacks is
fetched, at the host's candidate versions), `apt-get download` puts them in .cache/debs/<key>/, the render copies them
into the context and apt installs the local files in the image.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kit.docker import sdk
from kit.docker.containers import OWNER_LABEL
from kit.docker.sdk import Container, DockerException
from kit.errors import KitError
from kit.paths import CACHE_DIR
from kit.progress import Stopwatch, console
from kit.spec.bases import BaseProfile

DEBS_DIR = CACHE_DIR / "debs"
APT_LISTS = Path("/var/lib/apt/lists")
STAMP = ".packages.json"
# `apt-get --simulate` prints `Inst <name> [<installed version>] (<version> <archives> [<arch>])` per package.
INST_LINE = re.compile(r"^Inst (?P<name>\S+) (?:\[[^\]]*\] )?\((?P<version>\S+) ")


class DebError(KitError):
    pass


@dataclass(frozen=True)
class BaseSystem:
    """What resolution needs from a base image: its Debian release and its installed packages."""

    codename: str
    dpkg_status: str


def os_codename(os_release: str) -> str:
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key == "VERSION_CODENAME":
            return value.strip().strip('"')
    return ""


def host_codename() -> str:
    path = Path("/etc/os-release")
    return os_codename(path.read_text()) if path.is_file() else ""


def check_profile(packages: list[str], profile: BaseProfile) -> None:
    """system_packages need a base on the host's Debian release (checked before anything is built)."""
    host = host_codename()
    if packages and (not host or host not in profile.os_release.lower()):
        raise DebError(
            f"system_packages: the {profile.name} base is {profile.os_release} and this host is "
            f"{host or 'not Debian'}; the .deb cache serves bases on the host's Debian release (use base: cpu)"
        )


def read_file(container: Container, path: str) -> str:
    """A text file from a container's file system, following a symbolic link (e.g. /etc/os-release)."""
    for _ in range(8):
        stream, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            member = archive.getmembers()[0]
            if member.issym():
                path = str(PurePosixPath(path).parent / member.linkname)
                continue
            content = archive.extractfile(member)
            return content.read().decode() if content else ""
    raise DebError(f"{path}: too many symbolic links in the base image")


def read_base_system(docker_client: sdk.DockerClient, image: str) -> BaseSystem:
    """Read the base's os-release and dpkg status from a created (never started) container."""
    container = docker_client.containers.create(
        image, command=["true"], network_mode="none", labels={OWNER_LABEL: "triton-kit"}
    )
    try:
        return BaseSystem(
            os_codename(read_file(container, "/etc/os-release")), read_file(container, "/var/lib/dpkg/status")
        )
    finally:
        container.remove(force=True)


def apt_lists_identity() -> str:
    """Changes when the host's apt lists do (`apt-get update`), so new candidate versions are fetched."""
    lists = sorted(APT_LISTS.glob("*Packages*")) if APT_LISTS.is_dir() else []
    return ",".join(f"{path.name}:{path.stat().st_mtime_ns}" for path in lists)


def resolve(packages: list[str], base: BaseSystem) -> list[str]:
    """`name=version` for every package the base lacks, by the host's apt against the base's dpkg status."""
    with tempfile.NamedTemporaryFile("w", prefix="triton-kit-dpkg-status-") as status:
        status.write(base.dpkg_status)
        status.flush()
        command = [
            "apt-get", "install", "--simulate", "--no-install-recommends",
            "-o", f"Dir::State::status={status.name}", "-o", "Debug::NoLocking=1", *packages,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("E:")] or [result.stderr[-1500:]]
        raise DebError(
            f"system_packages: apt cannot install {' '.join(packages)} on the base:\n  " + "\n  ".join(errors) + "\n"
            "fix: check the names (`apt-cache search <word>`), or refresh the host's lists (`apt-get update`)"
        )
    return [
        f"{match['name']}={match['version']}" for match in map(INST_LINE.match, result.stdout.splitlines()) if match
    ]


def fill_debs(packages: list[str], base: BaseSystem, cache: Path = DEBS_DIR) -> list[Path]:
    """The .deb files an image needs on `base`, downloaded once into cache/<key>/ (empty when the base has all)."""
    if not packages:
        return []
    host = host_codename()
    if base.codename != host:
        raise DebError(
            f"system_packages: the base is Debian {base.codename or '(unknown)'} and this host is {host or 'unknown'};"
            " the host can only fetch packages for its own release (use base: cpu)"
        )
    fingerprint = json.dumps(
        {"packages": sorted(packages), "status": hashlib.sha256(base.dpkg_status.encode()).hexdigest(),
         "lists": apt_lists_identity()}, sort_keys=True
    )  # fmt: skip
    directory = cache / hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    stamp = directory / STAMP
    if stamp.is_file() and stamp.read_text() == fingerprint:
        return sorted(directory.glob("*.deb"))
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.deb"):
        old.unlink()
    watch = Stopwatch()
    pins = resolve(packages, base)
    if pins:
        console.print(f"{watch.stamp()} debs: downloading {' '.join(pins)} into {directory}")
        result = subprocess.run(["apt-get", "download", *pins], cwd=directory, capture_output=True, text=True)
        if result.returncode != 0:
            raise DebError(f"apt-get download for {directory} failed; check the host's apt access:\n{result.stderr}")
    stamp.write_text(fingerprint)
    return sorted(directory.glob("*.deb"))


def system_debs(docker_client: sdk.DockerClient, base_image: str, packages: list[str]) -> list[Path]:
    """The .deb files for `packages` on `base_image` (which must be local: resolution reads its dpkg status)."""
    if not packages:
        return []
    try:
        base = read_base_system(docker_client, base_image)
    except DockerException as error:
        raise DebError(
            f"system_packages are resolved against the base, and {base_image} cannot be read ({error}); "
            "build it first (make base)"
        ) from None
    return fill_debs(packages, base)
