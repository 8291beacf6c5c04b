"""`azureml.core.model.Model.get_model_path` as it resolves inside a deployed container, without azureml-core."""

from __future__ import annotations

import os
from pathlib import Path


class ModelNotFoundException(Exception):
    pass


def _latest_version(folder: Path) -> Path | None:
    versions = [entry for entry in folder.iterdir() if entry.is_dir() and entry.name.isdigit()]
    return max(versions, key=lambda entry: int(entry.name)) if versions else None


def _inside_version(folder: Path) -> str:
    """azureml-core's rule: a version folder holding exactly one entry resolves to that entry."""
    entries = sorted(folder.iterdir())
    return str(entries[0]) if len(entries) == 1 else str(folder)


class Model:
    """Only get_model_path: registering, downloading and deploying models need a workspace, not an image."""

    @staticmethod
    def get_model_path(model_name: str, version: int | None = None, _workspace: object = None) -> str:
        """Search, in order: $AZUREML_MODEL_DIR/<name> (folders kept under their registered names),
        $AZUREML_MODEL_DIR itself when it is <name>/<version> (one registered model), then azureml-core's cache layout
        <root>/<name>/<version>/ under $AZUREML_MODEL_DIR and $AML_APP_ROOT/azureml-models, then ./<name>.
        """
        if model_name is None:
            raise ModelNotFoundException("model_name is None")
        if version is not None and not isinstance(version, int):
            raise ModelNotFoundException("version should be an int")
        model_dir = os.environ.get("AZUREML_MODEL_DIR")
        searched: list[str] = []
        if model_dir:
            root = Path(model_dir)
            direct = root / model_name
            if direct.exists() and not (direct.is_dir() and _latest_version(direct) is not None):
                return str(direct)
            if (
                root.parent.name == model_name
                and root.name.isdigit()
                and (version is None or int(root.name) == version)
            ):
                return _inside_version(root)
            searched.append(str(root))
        for root in ([Path(model_dir)] if model_dir else []) + [
            Path(os.environ.get("AML_APP_ROOT", "")) / "azureml-models"
        ]:
            folder = root / model_name
            chosen = (
                (folder / str(version))
                if version is not None
                else (_latest_version(folder) if folder.is_dir() else None)
            )
            if chosen is not None and chosen.is_dir():
                return _inside_version(chosen)
            searched.append(str(folder))
        if Path(model_name).exists():
            return model_name
        raise ModelNotFoundException(
            f"Model {model_name} (version {version if version is not None else 'latest'}) not found in "
            f"{', '.join(searched)} or in the working directory {os.getcwd()}; "
            "set AZUREML_MODEL_DIR to the folder that holds the registered model folders"
        )
