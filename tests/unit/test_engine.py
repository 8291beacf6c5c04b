"""Engine bootstrap logic that needs no daemon: pidfile handling and the advice for unmanaged hosts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kit.docker import engine


def test_stale_pidfile_is_not_a_running_daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pidfile = tmp_path / "docker.pid"
    monkeypatch.setattr(engine, "DOCKERD_PIDFILE", pidfile)
    assert engine.running_dockerd_pid() is None
    pidfile.write_text("not-a-pid")
    assert engine.running_dockerd_pid() is None
    pidfile.write_text(str(os.getpid()))  # alive, but this is python, not dockerd
    assert engine.running_dockerd_pid() is None


def test_advice_names_the_flags_that_keep_traffic_on_loopback() -> None:
    advice = engine.how_to_start_docker()
    assert "--bridge=none --iptables=false --ip-masq=false" in advice
    assert " ".join(engine.DOCKERD_ARGS) in advice
