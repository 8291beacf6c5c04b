"""Which Docker engine the kit talks to: the smoke test mounts a host folder (the scoring socket) into the
container, so builds need an engine on this machine; a remote DOCKER_HOST is refused with that reason."""

from __future__ import annotations

import os
from urllib.parse import urlparse

from kit.errors import EngineUnavailable

LOCAL_SCHEMES = {"unix", "npipe", "fd"}
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def remote_engine_reason(docker_host: str | None = None) -> str | None:
    """Why DOCKER_HOST names an engine on another machine, or None for a local one."""
    host = (os.environ.get("DOCKER_HOST", "") if docker_host is None else docker_host).strip()
    if not host:
        return None
    parsed = urlparse(host)
    if parsed.scheme in LOCAL_SCHEMES:
        return None
    if parsed.scheme in {"tcp", "http", "https"} and (parsed.hostname or "") in LOOPBACK:
        return None
    return (
        f"DOCKER_HOST={host} names an engine on another machine; the smoke test mounts a folder of this machine "
        "into the container (and reads the image's files back), which a remote engine cannot reach. Run the kit "
        "on the engine's machine, or unset DOCKER_HOST to use the local engine (`triton-kit validate` "
        "needs no engine)"
    )


def require_local_engine() -> None:
    reason = remote_engine_reason()
    if reason:
        raise EngineUnavailable(reason)
