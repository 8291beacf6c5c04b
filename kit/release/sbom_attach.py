"""The image's CycloneDX SBOM attached in the registry as an OCI artifact whose `subject` is the pushed digest.

OCI distribution 1.1: the artifact manifest is pushed by digest; a registry with the referrers API says so with an
`OCI-Subject` header. Otherwise (Debian's registry 2.8, among others) the referrers tag scheme is kept by hand: an
image index at tag `sha256-<hex of the subject>` lists the artifacts. Either way the SBOM is read back and compared.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from kit.release.registry_api import Manifest, RegistryClient, RegistryError

SBOM_TYPE = "application/vnd.cyclonedx+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY = b"{}"


@dataclass(frozen=True)
class Attached:
    digest: str  # the artifact manifest's digest
    scheme: str  # "referrers API" or "tag sha256-..."


def descriptor(media_type: str, data: bytes) -> dict[str, object]:
    return {"mediaType": media_type, "digest": f"sha256:{hashlib.sha256(data).hexdigest()}", "size": len(data)}


def fallback_tag(digest: str) -> str:
    return digest.replace(":", "-")


def artifact_manifest(sbom: bytes, subject: Manifest) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SBOM_TYPE,
        "config": descriptor(EMPTY_TYPE, EMPTY),
        "layers": [{**descriptor(SBOM_TYPE, sbom), "annotations": {"org.opencontainers.image.title": "sbom.cdx.json"}}],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
        "annotations": {"org.opencontainers.image.description": "CycloneDX SBOM written by triton-kit"},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def sbom_matches_image(sbom: bytes, image_id: str) -> bool:
    """The SBOM names the image it was read from (a `triton-kit:image-id` property): attach it to that image only."""
    try:
        properties = json.loads(sbom)["metadata"]["component"].get("properties", [])
    except (ValueError, KeyError, TypeError):
        return False
    return {"name": "triton-kit:image-id", "value": image_id} in properties


def attach(client: RegistryClient, repository: str, subject_digest: str, sbom_path: Path) -> Attached:
    """Attach the SBOM to a pushed, verified manifest, then read it back; returns the artifact's digest."""
    subject = client.manifest(repository, subject_digest)
    if subject is None:
        raise RegistryError(f"{client.host}: {repository}@{subject_digest} is gone; nothing was attached")
    sbom = sbom_path.read_bytes()
    client.upload_blob(repository, EMPTY)
    client.upload_blob(repository, sbom)
    body = artifact_manifest(sbom, subject)
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    response = client.put_manifest(repository, digest, body, OCI_MANIFEST)
    scheme = "referrers API"
    if response.headers.get("OCI-Subject") != subject.digest:
        scheme = f"tag {fallback_tag(subject.digest)}"
        update_fallback_index(
            client, repository, subject.digest, {**descriptor(OCI_MANIFEST, body), "artifactType": SBOM_TYPE}
        )
    if read_back(client, repository, subject.digest) != sbom:
        raise RegistryError(f"{client.host}: the SBOM read back from {repository} differs from {sbom_path}")
    return Attached(digest, scheme)


def update_fallback_index(client: RegistryClient, repository: str, subject: str, entry: dict[str, object]) -> None:
    tag = fallback_tag(subject)
    current = client.manifest(repository, tag)
    index = json.loads(current.body) if current else {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    index["manifests"] = [item for item in index.get("manifests", []) if item.get("digest") != entry["digest"]]
    index["manifests"].append(entry)
    client.put_manifest(repository, tag, json.dumps(index, separators=(",", ":")).encode(), OCI_INDEX)


def referrer_list(client: RegistryClient, repository: str, subject: str) -> list[dict[str, object]]:
    listed = client.referrers(repository, subject)
    if listed is None:
        index = client.manifest(repository, fallback_tag(subject))
        listed = json.loads(index.body) if index else {"manifests": []}
    return list(listed.get("manifests", []))


def read_back(client: RegistryClient, repository: str, subject: str) -> bytes | None:
    """The newest SBOM attached to `subject`, found the way a client would find it (referrers API, else the tag)."""
    for entry in reversed(referrer_list(client, repository, subject)):
        if entry.get("artifactType") != SBOM_TYPE:
            continue
        manifest = client.manifest(repository, str(entry["digest"]))
        if manifest is None:
            continue
        layers = json.loads(manifest.body).get("layers", [])
        if layers:
            return client.blob(repository, str(layers[0]["digest"]))
    return None
