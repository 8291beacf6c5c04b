"""The session's leftover check (tests/support/leftovers.py) finds what it is meant to find: an orphan that carries
the session's marker, and a child started with an environment of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.support import leftovers
from tests.support.waiting import wait_until

# Starts `sleep` (detached from the output pipes: -3 is DEVNULL), prints its pid and exits: the sleep is reparented.
ORPHAN = (
    "import subprocess; print(subprocess.Popen(['sleep', '300'], start_new_session=True, stdout=-3, stderr=-3).pid)"
)


def pids(processes: list[leftovers.Process]) -> set[int]:
    return {process.pid for process in processes}


def test_an_orphan_with_the_marker_is_found_and_one_without_is_not() -> None:
    token = os.environ[leftovers.MARKER]
    marked = int(subprocess.run([sys.executable, "-c", ORPHAN], capture_output=True, text=True, check=True).stdout)
    unmarked_env = {key: value for key, value in os.environ.items() if key != leftovers.MARKER}
    unmarked = int(
        subprocess.run(
            [sys.executable, "-c", ORPHAN], capture_output=True, text=True, check=True, env=unmarked_env
        ).stdout
    )
    try:
        assert leftovers.read_process(marked).ppid != os.getpid()  # type: ignore[union-attr]
        found = pids(leftovers.left_behind(token))
        assert marked in found and unmarked not in found
        assert marked not in pids(leftovers.left_behind("another-session"))
    finally:
        for pid in (marked, unmarked):
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: marked not in pids(leftovers.left_behind(token)), what="the killed orphan gone")


def test_a_child_without_the_marker_is_found_by_its_parent_chain() -> None:
    token = os.environ[leftovers.MARKER]
    child = subprocess.Popen(["sleep", "300"], env={"PATH": os.environ["PATH"]})
    try:
        assert child.pid in pids(leftovers.left_behind(token))
    finally:
        child.kill()
        child.wait()
    assert child.pid not in pids(leftovers.left_behind(token))
