"""No test leaves a process behind: every process the suite starts carries a marker in its environment
(TRITON_KIT_TEST_RUN=<one id per session>, inherited from the pytest process), so one that outlives the suite is
found at the end even after it was reparented to init; processes started with an environment of their own are
found while their parent chain still leads to pytest."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

MARKER = "TRITON_KIT_TEST_RUN"
PROC = Path("/proc")


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    state: str
    command: str


def mark_session() -> str:
    """A fresh id in this process's environment, hence in every child's (never one inherited from an outer run)."""
    token = uuid.uuid4().hex
    os.environ[MARKER] = token
    return token


def read_process(pid: int) -> Process | None:
    try:
        state, ppid = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        command = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (OSError, ValueError):
        return None  # gone meanwhile
    return Process(pid, int(ppid), state, command)


def carries(pid: int, token: str) -> bool:
    try:
        environment = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return False  # gone, or not ours to read
    return f"{MARKER}={token}".encode() in environment.split(b"\0")


def live_processes() -> dict[int, Process]:
    found = (read_process(int(entry.name)) for entry in PROC.iterdir() if entry.name.isdigit())
    return {process.pid: process for process in found if process is not None and process.state != "Z"}


def descends_from(process: Process, root: int, table: dict[int, Process]) -> bool:
    seen: set[int] = set()
    while process.ppid not in (0, process.pid) and process.pid not in seen:
        if process.ppid == root:
            return True
        seen.add(process.pid)
        parent = table.get(process.ppid)
        if parent is None:
            return False
        process = parent
    return False


def left_behind(token: str, root: int | None = None) -> list[Process]:
    """Live processes (zombies aside) other than `root` (this pytest process) that carry the session's marker or
    descend from `root`."""
    root = os.getpid() if root is None else root
    table = live_processes()
    return [
        process
        for pid, process in sorted(table.items())
        if pid != root and (carries(pid, token) or descends_from(process, root, table))
    ]


def describe(processes: list[Process]) -> str:
    return "\n".join(f"  pid {p.pid} (parent {p.ppid}, state {p.state}): {p.command[:200]}" for p in processes)
