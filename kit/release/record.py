"""The tested record: written only after a passing smoke test, read by push and deploy to find what may ship."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kit.errors import KitError
from kit.paths import BUILD_DIR
from kit.spec.model_digests import MountedModel

RECORDS_DIR = BUILD_DIR / ".tested"  # beside (not inside) build/<name>/, which every render replaces
# 2: the base by identity. A record of another format is refused: its image must be rebuilt and tested again.
RECORD_FORMAT = 2


class StaleRecord(KitError):
    pass


@dataclass(frozen=True)
class TestedRecord:
    __test__ = False  # not a pytest test class despite the name

    image_id: str
    tags: list[str]
    revision: str
    digests: dict[str, str] = field(default_factory=dict)  # registry reference -> digest, filled by push
    sboms: dict[str, str] = field(default_factory=dict)  # repository@digest -> attached SBOM artifact's digest
    # The base the image was built from, by digest or image id (kit/base/identity.py).
    base: str = ""
    # Registered model folders mounted at start (mount: true): registered name -> {version, path, digest, files},
    # the files' SHA-256 as the smoke test mounted them (kit/spec/model_digests.py); empty for baked models.
    mounted_models: dict[str, dict[str, object]] = field(default_factory=dict)
    format: int = RECORD_FORMAT

    def write(self, name: str) -> Path:
        path = record_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, name: str) -> TestedRecord | None:
        path = record_path(name)
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        if data.get("format") != RECORD_FORMAT:
            raise StaleRecord(
                f"{path}: a tested record of format {data.get('format', 1)}, not {RECORD_FORMAT} (from an older kit);"
                f" rebuild: make build IMAGES={name}"
            )
        digests, sboms = dict(data.get("digests", {})), dict(data.get("sboms", {}))
        base, mounted = data.get("base", ""), dict(data.get("mounted_models", {}))
        return cls(data["image_id"], list(data["tags"]), data.get("revision", ""), digests, sboms, base, mounted)

    def mounted(self) -> list[MountedModel]:
        """The mounted models the smoke test used, with their file digests."""
        return [MountedModel.from_record(name, data) for name, data in self.mounted_models.items()]


def record_path(name: str) -> Path:
    return RECORDS_DIR / f"{name}.json"


def forget(name: str) -> None:
    """A new build is untested until its smoke test passes."""
    record_path(name).unlink(missing_ok=True)
