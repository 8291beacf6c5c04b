"""What the manifests attach for a `mount: true` image: each registered folder (where it mounts, its sub path in a
volume laid out as Azure ML's azureml-models/, its local path for Azure ML), named by the digests of the files the
smoke test mounted (the tested record), and the warnings when the folder attached now differs from them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from kit.release.record import TestedRecord
from kit.spec.image import ImageSpec
from kit.spec.model_digests import differences, mounted_models
from kit.spec.model_folders import context_placement, mount_point, mounted

# KServe's storage initializer (and its pvc:// mount) places the model here in the predictor container.
KSERVE_MODEL_DIR = "/mnt/models"


@dataclass(frozen=True)
class AttachedModel:
    name: str
    version: int
    path: str  # the folder in the image folder
    sub_path: str  # <name>/<version>/<folder> inside a volume laid out as azureml-models/
    mount_point: str
    local_path: str  # relative to build/<name>/deploy/azureml/ (Azure ML's `model: path:`)
    digest: str  # sha256 over the files the smoke test mounted ("" when untested)


@dataclass(frozen=True)
class AttachedModels:
    models: list[AttachedModel] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def mounted(self) -> bool:
        return bool(self.models)

    @property
    def storage_prefix(self) -> str:
        """Where AZUREML_MODEL_DIR's content lies in a volume laid out as azureml-models/ ("" for its root)."""
        if len(self.models) == 1:
            return f"{self.models[0].name}/{self.models[0].version}"
        return ""


def attached_models(spec: ImageSpec, folder: Path, azureml_dir: Path) -> AttachedModels:
    if not mounted(spec.models):
        return AttachedModels()
    current = mounted_models(folder, spec.models)
    record = TestedRecord.read(spec.name)
    tested = record.mounted() if record is not None else []
    warnings = []
    if not tested:
        warnings.append(
            f"{spec.name}: no tested record names the mounted model files; the manifests name the folder as it is "
            f"now, untested (make build IMAGES={spec.name} tests it)"
        )
        tested = current
    else:
        warnings += [
            f"{spec.name}: the model folder attached now differs from the one the smoke test used: {line}; "
            f"rebuild and test (make build IMAGES={spec.name}) or attach the tested files"
            for line in differences(tested, current)
        ]
    digests = {model.name: model.digest for model in tested}
    models = [
        AttachedModel(
            name=model.registered_name,
            version=model.version,
            path=model.path,
            sub_path=context_placement(model),
            mount_point=mount_point(model),
            local_path=os.path.relpath(folder / model.path, azureml_dir),
            digest=digests.get(model.registered_name, ""),
        )
        for model in spec.models
    ]
    if len(models) > 1:
        warnings.append(
            f"{spec.name}: an Azure ML online deployment attaches one model, this image mounts {len(models)}; "
            "azureml/deployment.yaml attaches none: register them as one folder, or bake them (mount: false)"
        )
    return AttachedModels(models, warnings)
