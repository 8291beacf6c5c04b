"""`make manifests`: build/<name>/deploy/ with a kustomize base + overlay, a KServe InferenceService and an Azure ML
managed online endpoint + deployment, all rendered from templates/deploy/ and the image's `deploy:` settings."""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from kit.context.templates import render
from kit.deploy.attached_models import KSERVE_MODEL_DIR, AttachedModels, attached_models
from kit.deploy.reference import image_reference
from kit.paths import BUILD_DIR, IMAGES_DIR
from kit.progress import console
from kit.spec.image import ImageSpec
from kit.spec.model_folders import model_locations
from kit.verify.smoke import image_setting

AZUREML_MAX_REQUEST_TIMEOUT_MS = 180_000
STARTUP_PERIOD_S = 10
# Mounted models (mount: true): the first reads go through the mount (a network file system, blobfuse on Azure ML,
# a PVC): the startup budget adds this to TRITON_READY_TIMEOUT.
MOUNT_MARGIN_S = 120
AZUREML_READINESS_PERIOD_S = 5
# Kubernetes keeps routing to a terminating pod for a moment: the preStop pause outlasts that before SIGTERM.
PRE_STOP_SLEEP_S = 5
# Triton's own stop after Gunicorn's drain.
TRITON_STOP_MARGIN_S = 10
# Kubernetes versions the objects are validated against (kubernetes-validate --strict); the preStop sleep action
# needs 1.30.
KUBERNETES_VERSIONS = ("1.30.0", "1.31.0", "1.32.0", "1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0")

FILES = {
    "k8s/base/kustomization.yaml": "deploy/k8s/base/kustomization.yaml.j2",
    "k8s/base/deployment.yaml": "deploy/k8s/base/deployment.yaml.j2",
    "k8s/base/service.yaml": "deploy/k8s/base/service.yaml.j2",
    "k8s/base/hpa.yaml": "deploy/k8s/base/hpa.yaml.j2",
    "k8s/base/pdb.yaml": "deploy/k8s/base/pdb.yaml.j2",
    "k8s/base/networkpolicy.yaml": "deploy/k8s/base/networkpolicy.yaml.j2",
    "k8s/overlays/example/kustomization.yaml": "deploy/k8s/overlays/example/kustomization.yaml.j2",
    "k8s/overlays/example/replicas-and-resources.yaml": "deploy/k8s/overlays/example/replicas-and-resources.yaml.j2",
    "kserve/inferenceservice.yaml": "deploy/kserve/inferenceservice.yaml.j2",
    "azureml/endpoint.yaml": "deploy/azureml/endpoint.yaml.j2",
    "azureml/deployment.yaml": "deploy/azureml/deployment.yaml.j2",
}

# A mount: true image's example overlay: the PersistentVolumeClaim its model volume reads.
MOUNT_FILES = {
    f"k8s/overlays/models-pvc/{name}": f"deploy/k8s/overlays/models-pvc/{name}.j2"
    for name in ("kustomization.yaml", "persistentvolumeclaim.yaml")
}


@dataclass(frozen=True)
class DeployValues:
    """Everything the templates use, derived once from the spec."""

    spec: ImageSpec
    image: str
    port: int
    graceful_timeout_s: int
    triton_ready_timeout_s: int
    scoring_timeout_ms: int
    # AZUREML_MODEL_DIR and TRITON_MODEL_REPOSITORY as the image was built with them (kit/spec/model_folders.py).
    model_locations: dict[str, str]
    # The registered folders a mount: true image needs attached (none for baked models).
    models: AttachedModels = field(default_factory=AttachedModels)

    @property
    def startup_budget_s(self) -> int:
        """TRITON_READY_TIMEOUT (the supervisor gives up then), plus a slow mount's margin for mounted models."""
        return self.triton_ready_timeout_s + (MOUNT_MARGIN_S if self.models.mounted else 0)

    @property
    def startup_failure_threshold(self) -> int:
        """Enough startup probes that period x threshold covers the startup budget."""
        return math.ceil(self.startup_budget_s / STARTUP_PERIOD_S) + 1

    @property
    def azureml_readiness_failure_threshold(self) -> int:
        """Mounted models: Azure ML's readiness probe waits out the same budget (it answers 503 while loading)."""
        if not self.models.mounted:
            return 3
        return math.ceil(self.startup_budget_s / AZUREML_READINESS_PERIOD_S) + 1

    @property
    def kserve_model_dir(self) -> str:
        return KSERVE_MODEL_DIR

    @property
    def termination_grace_s(self) -> int:
        return PRE_STOP_SLEEP_S + self.graceful_timeout_s + TRITON_STOP_MARGIN_S

    @property
    def startup_period_s(self) -> int:
        return STARTUP_PERIOD_S

    @property
    def pre_stop_sleep_s(self) -> int:
        return PRE_STOP_SLEEP_S

    @property
    def request_timeout_ms(self) -> int:
        return min(self.scoring_timeout_ms + 5_000, AZUREML_MAX_REQUEST_TIMEOUT_MS)

    @property
    def pinned(self) -> bool:
        return "@sha256:" in self.image


def deploy_values(spec: ImageSpec, registry: str = "", models: AttachedModels | None = None) -> DeployValues:
    return DeployValues(
        spec=spec,
        image=image_reference(spec, registry),
        port=image_setting(spec, "SERVER_PORT"),
        graceful_timeout_s=image_setting(spec, "GRACEFUL_TIMEOUT"),
        triton_ready_timeout_s=image_setting(spec, "TRITON_READY_TIMEOUT"),
        scoring_timeout_ms=image_setting(spec, "SCORING_TIMEOUT_MS"),
        model_locations=model_locations(spec),
        models=models or AttachedModels(),
    )


def deploy_dir(name: str) -> Path:
    return BUILD_DIR / name / "deploy"


def write_manifests(
    spec: ImageSpec, registry: str = "", directory: Path | None = None, folder: Path | None = None
) -> Path:
    """Writes (replacing) the manifest folders; other files in deploy/ (an SBOM) stay. `folder`: the image folder
    (images/<name> by default), whose mounted model folders (mount: true) the manifests attach; a warning is printed
    when they differ from the files the smoke test used."""
    directory = directory or deploy_dir(spec.name)
    models = attached_models(spec, folder or IMAGES_DIR / spec.name, directory / "azureml")
    for warning in models.warnings:
        console.print(f"manifests: warning: {warning}", style="bold yellow", markup=False)
    values = deploy_values(spec, registry, models)
    for folder in ("k8s", "kserve", "azureml"):
        shutil.rmtree(directory / folder, ignore_errors=True)
    for relative, template in FILES.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(template, v=values, d=spec.deploy, versions=KUBERNETES_VERSIONS))
    if models.mounted:
        for relative, template in MOUNT_FILES.items():
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(render(template, v=values, d=spec.deploy, versions=KUBERNETES_VERSIONS))
    return directory
