"""A 1-second, concurrency-2 run of the whole bench (every path, tiny model: both HTTP layers, no keep-alive, both
peers), so that `make bench` keeps working."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import profile, run
from kit import PROJECT_ROOT

pytestmark = pytest.mark.docker
PEER_PYTHON = PROJECT_ROOT / ".venv-bench" / "bin" / "python"
KSERVE_PYTHON = PROJECT_ROOT / ".venv-kserve" / "bin" / "python"


def test_bench_smoke_run_measures_every_path(tmp_path: Path) -> None:
    assert PEER_PYTHON.exists(), "the bench environment is missing: make bench-venv (make test depends on it)"
    assert KSERVE_PYTHON.exists(), "the KServe peer is missing: make kserve-venv (make test depends on it)"
    arguments = ["--smoke", "--peer-python", str(PEER_PYTHON), "--kserve-python", str(KSERVE_PYTHON)]
    assert run.main([*arguments, "--out", str(tmp_path)]) == 0
    (raw,) = tmp_path.glob("*-smoke.json")
    report = json.loads(raw.read_text())
    measured = {result["path"]: result for result in report["results"]}
    assert set(measured) == set(run.PATHS)
    for path, result in measured.items():
        assert result["requests"] > 0 and result["errors"] == 0, (path, result)
    assert measured["score"]["front_end_cpu_us"] > 0
    profiled = {row["component"] for row in measured["score"]["profile"]}
    assert profile.HTTP_LAYER in profiled, measured["score"]["profile"]  # py-spy saw the default worker
    assert measured["score"]["batching_factor"] is not None
    assert measured["score-nobatch"]["batching_factor"] == 1.0  # config parameter dynamic_batching=off holds
    assert report["machine"]["cores"] >= 1
    assert (tmp_path / raw.name.replace(".json", ".png")).stat().st_size > 0
    assert "## Goals" in (tmp_path / raw.name.replace(".json", ".md")).read_text()
