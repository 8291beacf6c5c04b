"""The hostile-client settings and the per-worker memory cap's arithmetic (no server; tests/hostile runs one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.settings import Settings, SettingsError
from scoring.worker_limits import cgroup_memory_limit, worker_memory_cap_mb


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.client_header_timeout_s, settings.client_body_timeout_s, settings.keepalive_timeout_s) == (
        10,
        20,
        20,
    )
    assert (settings.max_request_line_bytes, settings.max_header_bytes, settings.max_header_count) == (8192, 32768, 100)
    assert settings.worker_connections == 10_000
    assert settings.worker_memory_limit_mb == 0


def test_environment_names() -> None:
    settings = Settings.from_env(
        {"CLIENT_HEADER_TIMEOUT": "3", "CLIENT_BODY_TIMEOUT": "4", "KEEPALIVE_TIMEOUT": "5", "MAX_HEADER_COUNT": "20"}
    )
    assert (settings.client_header_timeout_s, settings.client_body_timeout_s) == (3, 4)
    assert (settings.keepalive_timeout_s, settings.max_header_count) == (5, 20)


@pytest.mark.parametrize(("name", "value"), [("CLIENT_HEADER_TIMEOUT", "0"), ("MAX_HEADER_BYTES", "lots")])
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return root


def test_cgroup_v2_and_v1_limits(tmp_path: Path) -> None:
    assert cgroup_memory_limit(write(tmp_path / "v2", "memory.max", "1073741824\n")) == 1 << 30
    assert cgroup_memory_limit(write(tmp_path / "v2max", "memory.max", "max\n")) is None
    assert cgroup_memory_limit(write(tmp_path / "v1", "memory/memory.limit_in_bytes", "536870912\n")) == 1 << 29
    assert cgroup_memory_limit(write(tmp_path / "v1max", "memory/memory.limit_in_bytes", str(2**63 - 4096))) is None
    assert cgroup_memory_limit(tmp_path / "none") is None


def test_memory_cap_is_half_the_container_split_between_workers(tmp_path: Path) -> None:
    root = write(tmp_path, "memory.max", str(2 << 30))
    assert worker_memory_cap_mb(0, 1, root) == 1024
    assert worker_memory_cap_mb(0, 4, root) == 256
    assert worker_memory_cap_mb(300, 4, root) == 300  # WORKER_MEMORY_LIMIT_MB wins
    assert worker_memory_cap_mb(0, 1, tmp_path / "none") == 0  # no container limit: no cap
