"""One base, by identity: the base a build starts from is named by digest (pulled) or image id (built here), and
its Triton is asked once for its release and usage, so a base that does not carry its profile's Triton is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kit.docker import sdk
from kit.docker.containers import OWNER_LABEL
from kit.docker.sdk import DockerException
from kit.errors import KitError
from kit.spec.bases import BaseProfile
from scoring import triton_options

# Where a base states its Triton release: NGC's environment, the kit's own label, NGC's version file.
VERSION_ENV = "TRITON_SERVER_VERSION"
VERSION_LABEL = "io.triton-kit.triton-version"
VERSION_FILE = "/opt/tritonserver/TRITON_VERSION"
USAGE_OPTION = re.compile(r"^  --([a-z0-9][a-z0-9-]*)(?: <|$)", re.MULTILINE)
# What the supervisor always passes: a base whose tritonserver lacks one of these cannot serve the image.
REQUIRED_OPTIONS = ("model-repository", "http-port", "metrics-port")


class BaseMismatch(KitError):
    pass


@dataclass(frozen=True)
class BaseIdentity:
    name: str
    # What FROM names: repo@sha256:<digest> for a pulled base, the image id for a base built on this machine.
    reference: str
    image_id: str
    triton_release: str

    def describe(self) -> str:
        return f"{self.name} = {self.reference} (Triton {self.triton_release})"


def from_reference(image: sdk.Image, name: str) -> str:
    repository = name.split("@", 1)[0].rsplit(":", 1)[0] if "/" in name or ":" in name else name
    for repo_digest in image.attrs.get("RepoDigests") or []:
        if repo_digest.split("@", 1)[0] == repository:
            return repo_digest
    return str(image.id)


def stated_release(docker_client: sdk.DockerClient, image: sdk.Image) -> tuple[str, set[str]]:
    """The release the base states (environment, label or version file) and the options its usage text lists."""
    config = image.attrs.get("Config") or {}
    environment = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    release = environment.get(VERSION_ENV) or (config.get("Labels") or {}).get(VERSION_LABEL, "")
    script = f"cat {VERSION_FILE} 2>/dev/null; echo @@usage@@; tritonserver --help 2>&1; true"
    try:
        output = docker_client.containers.run(
            image.id, entrypoint=["/bin/sh", "-c", script], network_mode="none", remove=True,
            labels={OWNER_LABEL: "triton-kit"}, stdout=True, stderr=True,
        )  # fmt: skip
    except DockerException as error:
        raise BaseMismatch(f"base {image.id[:19]}: cannot ask its tritonserver for its usage: {error}") from None
    text = output.decode(errors="replace")
    version_file, _, usage = text.partition("@@usage@@")
    return release or version_file.strip(), set(USAGE_OPTION.findall(usage))


def identify(docker_client: sdk.DockerClient, name: str, profile: BaseProfile) -> BaseIdentity:
    """The base's identity, refused when its Triton is not the profile's release."""
    image = docker_client.images.get(name)
    release, usage = stated_release(docker_client, image)
    table = triton_options.load(profile.triton_version)
    fix = "fix: choose the profile of that release (BASE=..., or image.yaml base: {profile, image})"
    if release and release != profile.triton_version:
        raise BaseMismatch(
            f"base {name} carries Triton {release}, but the {profile.name} profile is Triton"
            f" {profile.triton_version}; {fix}"
        )
    missing = [option for option in REQUIRED_OPTIONS if option not in usage]
    foreign = sorted(usage - table.options)
    if missing or foreign:
        found = f"lacks --{', --'.join(missing)}" if missing else f"has --{', --'.join(foreign)}"
        raise BaseMismatch(
            f"base {name}: its tritonserver {found}, which Triton {profile.triton_version} (the {profile.name}"
            f" profile) {'has' if missing else 'lacks'}; it is another release ({release or 'unstated'}); {fix}"
        )
    return BaseIdentity(name, from_reference(image, name), str(image.id), release or profile.triton_version)


def unchecked(docker_client: sdk.DockerClient, name: str, profile: BaseProfile) -> BaseIdentity:
    """The base's identity for rendering only: by digest or id when it is here, else by name; never run."""
    try:
        image = docker_client.images.get(name)
    except sdk.DockerException:
        return BaseIdentity(name, name, "unavailable", profile.triton_version)
    return BaseIdentity(name, from_reference(image, name), str(image.id), profile.triton_version)
