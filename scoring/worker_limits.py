"""Per-worker resource limits: a memory cap with a restart when memory stays high, and the open-files limit.

The memory cap is RLIMIT_DATA (heap and anonymous mappings): a run() that allocates without bound gets MemoryError
(answered 500) long before the container's OOM killer would pick a victim, which may be tritonserver. When the
worker's resident memory then stays above RESTART_FRACTION of the cap (Python keeps freed memory in its arenas), the
worker finishes its in-flight requests and exits, and Gunicorn starts a fresh one, so memory returns to its baseline.
"""

from __future__ import annotations

import logging
import os
import resource
from pathlib import Path

log = logging.getLogger("scoring.limits")
CGROUP = Path("/sys/fs/cgroup")
RESTART_FRACTION = 0.75
CHECK_INTERVAL_S = 1.0
AUTO_SHARE = 0.5  # of the container's memory, split between workers; the rest is Triton's and the master's
MIN_HEADROOM_MB = 64  # above the worker's size at start, whatever the cap says
PAGE = os.sysconf("SC_PAGE_SIZE")


def cgroup_memory_limit(root: Path = CGROUP) -> int | None:
    """The container's memory limit in bytes (cgroup v2 or v1), or None when there is none."""
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if not text.isdigit():
            return None  # "max": unlimited
        value = int(text)
        return value if value < 1 << 60 else None  # v1 writes a huge number for unlimited
    return None


def worker_memory_cap_mb(configured_mb: int, worker_count: int, root: Path = CGROUP) -> int:
    """WORKER_MEMORY_LIMIT_MB when set; else half the container's memory limit split between workers; else 0 (off)."""
    if configured_mb:
        return configured_mb
    limit = cgroup_memory_limit(root)
    if limit is None:
        return 0
    return int(limit * AUTO_SHARE / worker_count) >> 20


def data_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024
    return 0


def resident_size() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE


def apply_memory_cap(cap_mb: int) -> int:
    """Cap this process's data size at `cap_mb` (at least its current size plus MIN_HEADROOM_MB); returns bytes."""
    cap = max(cap_mb << 20, data_size() + (MIN_HEADROOM_MB << 20))
    resource.setrlimit(resource.RLIMIT_DATA, (cap, resource.getrlimit(resource.RLIMIT_DATA)[1]))
    return cap


def memory_stays_high(cap_bytes: int) -> bool:
    return resident_size() > cap_bytes * RESTART_FRACTION


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's soft nofile limit towards `wanted` (up to the hard limit); returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft
