"""CycloneDX SBOM of a built image (`deploy/sbom.cdx.json`): its Debian and Python packages, read from the image
itself by its own Python in a container without network, plus the Triton it carries (from the base's labels)."""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kit import __version__
from kit.docker import sdk
from kit.docker.containers import OWNER_LABEL
from kit.docker.sdk import ContainerError, DockerException
from kit.errors import KitError

SBOM_FILE = "sbom.cdx.json"
SPEC_VERSION = "1.5"
INVENTORY_SOURCE = Path(__file__).with_name("image_inventory.py")


class SbomError(KitError):
    pass


@dataclass(frozen=True)
class ImageIdentity:
    name: str
    version: str
    image_id: str
    python: str  # the image's interpreter that reads its own packages


def read_inventory(docker_client: sdk.DockerClient, image: ImageIdentity) -> dict[str, Any]:
    """The image's packages, listed by its own Python (network_mode none, removed afterwards)."""
    try:
        output = docker_client.containers.run(
            image.image_id,
            entrypoint=[image.python, "-c", INVENTORY_SOURCE.read_text()],
            network_mode="none",
            remove=True,
            labels={OWNER_LABEL: "triton-kit"},
            stdout=True,
            stderr=False,
        )
    except (ContainerError, DockerException) as error:
        raise SbomError(f"{image.name}: cannot list the image's packages with {image.python}: {error}") from None
    try:
        return dict(json.loads(output))
    except ValueError:
        raise SbomError(f"{image.name}: the package listing is not JSON: {output[:300]!r}") from None


def deb_purl(package: dict[str, str], distro: str) -> str:
    qualifiers = f"arch={package['arch']}" + (f"&distro={distro}" if distro else "")
    return f"pkg:deb/debian/{quote(package['name'])}@{quote(package['version'], safe='')}?{qualifiers}"


def pypi_purl(package: dict[str, str]) -> str:
    name = package["name"].lower().replace("_", "-").replace(".", "-")
    return f"pkg:pypi/{quote(name)}@{quote(package['version'], safe='')}"


def unique_ref(purl: str, used: set[str], location: str) -> str:
    """bom-refs must be unique; the same release can sit in two folders (the base's and the scoring runtime's)."""
    ref = purl if purl not in used else f"{purl}#{location}"
    used.add(ref)
    return ref


def components(inventory: dict[str, Any], labels: dict[str, str]) -> list[dict[str, Any]]:
    os_info = inventory.get("os", {})
    distro = f"{os_info.get('ID', 'debian')}-{os_info['VERSION_ID']}" if os_info.get("VERSION_ID") else ""
    used: set[str] = set()
    found: list[dict[str, Any]] = []
    triton_version = labels.get("io.triton-kit.triton-version")
    if triton_version:
        triton = {"type": "application", "name": "tritonserver", "version": triton_version}
        wheel = labels.get("io.triton-kit.triton-wheel")
        if wheel:
            triton["properties"] = [{"name": "triton-kit:unpacked-from", "value": wheel}]
        found.append({"bom-ref": unique_ref(f"triton-kit:tritonserver@{triton_version}", used, ""), **triton})
    for package in sorted(inventory.get("debian", []), key=lambda item: item["name"]):
        purl = deb_purl(package, distro)
        found.append(
            {
                "type": "library",
                "bom-ref": unique_ref(purl, used, ""),
                "name": package["name"],
                "version": package["version"],
                "purl": purl,
            }
        )
    for package in sorted(inventory.get("python", []), key=lambda item: (item["name"].lower(), item["location"])):
        purl = pypi_purl(package)
        component: dict[str, Any] = {
            "type": "library",
            "bom-ref": unique_ref(purl, used, package["location"]),
            "name": package["name"],
            "version": package["version"],
            "purl": purl,
            "properties": [{"name": "triton-kit:location", "value": package["location"]}],
        }
        license_text = package.get("license", "").strip()
        if license_text and len(license_text) <= 200:  # some packages put the whole license text here
            component["licenses"] = [{"license": {"name": license_text}}]
        found.append(component)
    return found


def sbom_document(image: ImageIdentity, inventory: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "triton-kit", "version": __version__}]},
            "component": {
                "type": "container",
                "bom-ref": image.image_id,
                "name": image.name,
                "version": image.version,
                "properties": [{"name": "triton-kit:image-id", "value": image.image_id}],
            },
        },
        "components": components(inventory, labels),
    }


def write_sbom(docker_client: sdk.DockerClient, image: ImageIdentity, directory: Path) -> Path:
    """Write `directory/sbom.cdx.json` (directory is build/<name>/deploy/, beside the manifests)."""
    inventory = read_inventory(docker_client, image)
    labels = docker_client.images.get(image.image_id).labels or {}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SBOM_FILE
    path.write_text(json.dumps(sbom_document(image, inventory, labels), indent=2) + "\n")
    return path
