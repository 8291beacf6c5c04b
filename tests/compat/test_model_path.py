"""azureml.core.Model.get_model_path from scoring/compat (the peer ships no azureml-core to compare with), and the
rule that the compat tree never shadows a real azureml-core or azureml-contrib-services."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from scoring.entry_script import COMPAT_DIR

AZUREML = COMPAT_DIR / "azureml"


@pytest.fixture
def model_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ModuleType]:
    import importlib.util

    monkeypatch.delenv("AZUREML_MODEL_DIR", raising=False)
    monkeypatch.setenv("AML_APP_ROOT", str(tmp_path / "app"))
    monkeypatch.chdir(tmp_path)
    spec = importlib.util.spec_from_file_location("compat_model", AZUREML / "core" / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights")
    return path


def test_folders_kept_under_their_registered_names(model_module: ModuleType, tmp_path: Path, monkeypatch) -> None:
    touch(tmp_path / "mnt" / "models" / "triton" / "densenet" / "1" / "model.onnx")
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path / "mnt"))
    assert model_module.Model.get_model_path("models") == str(tmp_path / "mnt" / "models")


def test_several_registered_models_take_the_latest_or_the_asked_version(model_module, tmp_path, monkeypatch) -> None:
    root = tmp_path / "azureml-models"
    one, two = touch(root / "clf" / "1" / "model.pkl"), touch(root / "clf" / "2" / "model.pkl")
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(root))
    assert model_module.Model.get_model_path("clf") == str(two)
    assert model_module.Model.get_model_path("clf", version=1) == str(one)


def test_one_registered_model_is_the_model_dir_itself(model_module, tmp_path, monkeypatch) -> None:
    weights = touch(tmp_path / "azureml-models" / "clf" / "3" / "model.onnx")
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(weights.parent))
    assert model_module.Model.get_model_path("clf") == str(weights)


def test_azureml_core_cache_under_the_app_root(model_module, tmp_path) -> None:
    weights = touch(tmp_path / "app" / "azureml-models" / "clf" / "7" / "model.onnx")
    assert model_module.Model.get_model_path("clf") == str(weights)


def test_missing_model_names_where_it_looked(model_module, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path / "mnt"))
    with pytest.raises(model_module.ModelNotFoundException, match="AZUREML_MODEL_DIR"):
        model_module.Model.get_model_path("absent")
    with pytest.raises(model_module.ModelNotFoundException, match="version should be an int"):
        model_module.Model.get_model_path("absent", version="1")


PROBE = """
import sys
sys.path.insert(0, sys.argv[1])  # the compat tree first, as the runtime puts it
from azureml.core import Model
from azureml.contrib.services.aml_request import rawhttp
print(Model.__module__, rawhttp.__module__)
"""


def fake_distribution(site: Path, core: bool, contrib: bool) -> None:
    (site / "azureml").mkdir(parents=True)
    (site / "azureml" / "__init__.py").write_text("__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n")
    if core:
        (site / "azureml" / "core").mkdir()
        (site / "azureml" / "core" / "__init__.py").write_text("class Model:\n    pass\n")
    if contrib:
        services = site / "azureml" / "contrib" / "services"
        services.mkdir(parents=True)
        (site / "azureml" / "contrib" / "__init__.py").write_text("")
        (services / "__init__.py").write_text("")
        (services / "aml_request.py").write_text("def rawhttp(f):\n    return f\n")


@pytest.mark.parametrize(("core", "contrib"), [(False, False), (True, False), (True, True)])
def test_a_real_azureml_install_always_wins(tmp_path: Path, core: bool, contrib: bool) -> None:
    site = tmp_path / "site"
    if core or contrib:
        fake_distribution(site, core, contrib)
    else:
        site.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(COMPAT_DIR.parent.parent)])}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(COMPAT_DIR)], env=env, capture_output=True, text=True, check=True
    )
    model_from, rawhttp_from = result.stdout.split()
    assert model_from == ("azureml.core" if core else "azureml.core.model")
    assert rawhttp_from == ("azureml.contrib.services.aml_request" if contrib else "scoring.entry_script")
