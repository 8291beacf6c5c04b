"""The Debian bookworm root file system under the cpu base: pulled when a registry answers, else debootstrapped."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kit.docker import sdk
from kit.docker.client import DockerImages
from kit.docker.containers import OWNER_LABEL
from kit.docker.sdk import ImageNotFound
from kit.errors import BuildFailed
from kit.progress import Stopwatch, console

PULLED_ROOTFS = "debian:bookworm-slim"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# What the base needs from Debian: the interpreter (the python backend stub links libpython3.11) and pip.
PACKAGES = ("python3", "python3-pip", "libpython3.11")


@dataclass(frozen=True)
class Rootfs:
    image: str
    # True when the image lacks PACKAGES, so the base Dockerfile must apt-get them.
    needs_packages: bool
    origin: str


def debootstrap_tag() -> str:
    digest = hashlib.sha256(" ".join([SUITE, "minbase", *PACKAGES]).encode()).hexdigest()[:12]
    return f"triton-kit/debian-rootfs:{SUITE}-{digest}"


class RootfsError(BuildFailed):
    pass


def ensure_rootfs(docker_client: sdk.DockerClient) -> Rootfs:
    cached = debootstrap_tag()
    try:
        docker_client.images.get(cached)
        return Rootfs(cached, needs_packages=False, origin="debootstrap (cached image)")
    except ImageNotFound:
        pass
    images = DockerImages(docker_client)
    if images.has_image(PULLED_ROOTFS):
        return Rootfs(PULLED_ROOTFS, needs_packages=True, origin="local debian:bookworm-slim")
    failure = images.try_pull(PULLED_ROOTFS)
    if failure is None:
        return Rootfs(PULLED_ROOTFS, needs_packages=True, origin="pulled debian:bookworm-slim")
    console.print(f"rootfs: cannot pull {PULLED_ROOTFS} ({failure}); building it with debootstrap")
    debootstrap_image(docker_client, cached)
    return Rootfs(cached, needs_packages=False, origin="debootstrap")


def debootstrap_image(docker_client: sdk.DockerClient, tag: str) -> None:
    if shutil.which("debootstrap") is None:
        raise RootfsError(
            "debootstrap is not installed; as root run `apt-get install -y debootstrap` (or make a local "
            f"{PULLED_ROOTFS} image available) and try again"
        )
    watch = Stopwatch()
    with tempfile.TemporaryDirectory(prefix="triton-kit-rootfs-", dir="/var/tmp") as workdir:
        root = Path(workdir) / "root"
        command = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(root), MIRROR]
        console.print(f"{watch.stamp()} rootfs: {' '.join(command)}")
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RootfsError(f"debootstrap failed ({result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (root / cache).glob("*"):
                if entry.is_file():
                    entry.unlink()
        tarball = Path(workdir) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."], check=True)
        console.print(f"{watch.stamp()} rootfs: importing {tarball.stat().st_size // 2**20} MiB as {tag}")
        repository, _, version = tag.rpartition(":")
        docker_client.api.import_image_from_file(
            str(tarball), repository=repository, tag=version, changes=[f"LABEL {OWNER_LABEL}=triton-kit"]
        )
    console.print(f"{watch.stamp()} rootfs: {tag} ready")
