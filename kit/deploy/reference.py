"""Which image reference a manifest names: the pushed digest when `make push` recorded one, else the tag."""

from __future__ import annotations

from kit.release.record import TestedRecord
from kit.spec.image import ImageSpec


def pushed_digests(name: str) -> dict[str, str]:
    """`registry/name:version` -> digest, as `make push` recorded them for the tested image (empty if none)."""
    record = TestedRecord.read(name)
    return dict(record.digests) if record else {}


def image_reference(spec: ImageSpec, registry: str = "") -> str:
    """`registry/name@sha256:...` once that push is on record, else `registry/name:version`; the registry is REGISTRY,
    else the first of image.yaml's `registries:` (where `make push` pushes by default), else none: the local tag."""
    registry = (registry or (spec.registries[0] if spec.registries else "")).rstrip("/")
    if not registry:
        return f"{spec.name}:{spec.version}"
    repository = f"{registry}/{spec.name}"
    digest = pushed_digests(spec.name).get(f"{repository}:{spec.version}")
    return f"{repository}@{digest}" if digest else f"{repository}:{spec.version}"
