"""The SBOM document: valid CycloneDX 1.5 (the official JSON schema, strict), purls per ecosystem, unique refs."""

from __future__ import annotations

import json

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from kit.verify.sbom import ImageIdentity, sbom_document

IMAGE = ImageIdentity("mlp-classifier", "1.0.0", "sha256:" + "ab" * 32, "/usr/bin/python3")
INVENTORY = {
    "os": {"ID": "debian", "VERSION_ID": "12"},
    "debian": [
        {"name": "libc6", "version": "2.36-9+deb12u9", "arch": "amd64"},
        {"name": "python3.11", "version": "3.11.2-6+deb12u5", "arch": "amd64"},
    ],
    "python": [
        {"name": "numpy", "version": "1.26.4", "location": "/usr/local/lib/python3.11/dist-packages", "license": ""},
        {"name": "numpy", "version": "1.26.4", "location": "/opt/scoring/lib", "license": "BSD-3-Clause"},
        {"name": "zope.event", "version": "6.2", "location": "/opt/scoring/lib", "license": "ZPL-2.1"},
    ],
}
LABELS = {"io.triton-kit.triton-version": "2.51.0", "io.triton-kit.triton-wheel": "nvidia_pytriton-0.7.0.whl"}


def test_document_passes_the_cyclonedx_schema() -> None:
    document = json.dumps(sbom_document(IMAGE, INVENTORY, LABELS))
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(document) is None


def test_components_carry_purls_and_unique_refs() -> None:
    document = sbom_document(IMAGE, INVENTORY, LABELS)
    purls = [component.get("purl") for component in document["components"]]
    assert "pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12" in purls
    assert "pkg:pypi/zope-event@6.2" in purls
    assert purls.count("pkg:pypi/numpy@1.26.4") == 2
    refs = [component["bom-ref"] for component in document["components"]]
    assert len(refs) == len(set(refs))
    assert document["components"][0]["name"] == "tritonserver"
    assert document["metadata"]["component"]["name"] == "mlp-classifier"


def test_a_broken_document_fails_the_schema() -> None:
    document = sbom_document(IMAGE, INVENTORY, LABELS)
    document["components"][1]["type"] = "not-a-type"
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(document)) is not None
