"""Make sure a Docker engine answers: reuse a running one, or install and start a loopback-only dockerd as root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import docker
from docker.errors import DockerException

from kit.errors import EngineUnavailable

DOCKERD_LOG = Path(os.environ.get("KIT_DOCKERD_LOG", "/var/log/triton-kit/dockerd.log"))
DOCKERD_PIDFILE = Path("/var/run/docker.pid")
# No bridge, no NAT: every container and build uses host networking, so nothing leaves loopback.
DOCKERD_ARGS = ("--bridge=none", "--iptables=false", "--ip-masq=false")
START_TIMEOUT_S = 60.0


class EngineError(EngineUnavailable):
    """The Docker engine cannot be reached or started; the message says what to do."""


def engine_answers(timeout_s: float = 3.0) -> bool:
    try:
        client = docker.from_env(timeout=int(max(timeout_s, 1)))
        return bool(client.ping())
    except (DockerException, OSError):
        return False


def running_dockerd_pid() -> int | None:
    """PID of a live dockerd from its pidfile, so a second daemon is never started."""
    try:
        pid = int(DOCKERD_PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    comm = Path(f"/proc/{pid}/comm")
    return pid if comm.exists() and comm.read_text().strip() == "dockerd" else None


# Host tools the kit drives, by the Debian package that provides them.
HOST_TOOLS = {
    "dockerd": "docker.io",
    "docker-compose": "docker-compose",
    "docker-registry": "docker-registry",
    "debootstrap": "debootstrap",
    "wrk": "wrk",
}


# Files the runtime tests need on the host: the python backend stub of the host tritonserver links libpython3.11.
HOST_FILES = {"/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0": "libpython3.11"}


def missing_host_packages() -> list[str]:
    missing = {package for tool, package in HOST_TOOLS.items() if shutil.which(tool) is None}
    missing |= {package for path, package in HOST_FILES.items() if not Path(path).exists()}
    return sorted(missing)


def how_to_start_docker() -> str:
    return (
        "No Docker engine answers and this kit can only start one as root on Debian/Ubuntu.\n"
        "Start Docker yourself, then run the command again, e.g.:\n"
        "  sudo apt-get install -y docker.io docker-compose docker-registry debootstrap\n"
        f"  sudo dockerd {' '.join(DOCKERD_ARGS)} &\n"
        "or point DOCKER_HOST at an engine you can use (Docker Desktop, rootless dockerd)."
    )


def can_manage_engine() -> bool:
    return os.geteuid() == 0 and Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None


def install_host_packages(packages: list[str]) -> None:
    print(f"engine: installing {' '.join(packages)} with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise EngineError(f"`{' '.join(command)}` failed ({result.returncode}):\n{result.stderr[-2000:]}")


def start_dockerd() -> int:
    DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
    with DOCKERD_LOG.open("ab") as log:
        process = subprocess.Popen(
            ["dockerd", *DOCKERD_ARGS],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives `make`, like a service would
        )
    print(f"engine: started dockerd (pid {process.pid}), log in {DOCKERD_LOG}", flush=True)
    return process.pid


def log_tail(lines: int = 20) -> str:
    try:
        return "\n".join(DOCKERD_LOG.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for_engine(timeout_s: float = START_TIMEOUT_S, pid: int | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if engine_answers(timeout_s=2):
            return
        if pid is not None and not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.5)
    raise EngineError(f"dockerd did not answer within {timeout_s:.0f} s. Last lines of {DOCKERD_LOG}:\n{log_tail()}")


def ensure_engine() -> str:
    """Return a one-line description of the engine in use, starting it if needed."""
    manageable = can_manage_engine()
    missing = missing_host_packages()
    if manageable and missing:
        install_host_packages(missing)
    if engine_answers():
        return "engine: Docker engine answers; nothing to do"
    if not manageable:
        raise EngineError(how_to_start_docker())
    pid = running_dockerd_pid()
    if pid is None:
        pid = start_dockerd()
    else:
        print(f"engine: dockerd (pid {pid}) is already running; waiting for its API", flush=True)
    wait_for_engine(pid=pid)
    return f"engine: Docker engine answers (dockerd pid {pid})"


def main() -> int:
    try:
        print(ensure_engine(), flush=True)
    except EngineError as error:
        print(f"engine: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
