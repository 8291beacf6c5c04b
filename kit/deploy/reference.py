"""Which image reference a manifest names: the pushed digest when `make push` recorded one, else the tag."""

from __future__ import annotations

from kit.release.record import TestedRecord
from kit.spec.image import ImageSpec


def pushed_digests(name: str) -> dict[str, str]:
    """`registry/name:version` -> digest, as `make push` recorded them for the tested image (empty if none)."""
    record = TestedRecord.read(name)
    return dict(record.digests) if record else {}


def image_reference(spec: ImageSpec, registry: str = "") -> str:
    """`registry/name@sha256:...` when that push is on record, `registry/name:version` when not yet pushed there;
    without a registry, the first recorded push by digest, else the local tag."""
    pushed = pushed_digests(spec.name)
    if registry:
        tagged = f"{registry.rstrip('/')}/{spec.name}:{spec.version}"
        digest = pushed.get(tagged)
        return f"{tagged.rpartition(':')[0]}@{digest}" if digest else tagged
    for tagged, digest in sorted(pushed.items()):
        if tagged.endswith(f"/{spec.name}:{spec.version}"):
            return f"{tagged.rpartition(':')[0]}@{digest}"
    return f"{spec.name}:{spec.version}"
