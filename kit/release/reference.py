"""`REGISTRY=` as Docker reads it: host[:port][/path], following Docker's reference grammar
(github.com/distribution/reference), with a message that names the fix when a name is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kit.errors import PushFailed

DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
HOST = rf"(?:{DOMAIN_COMPONENT}(?:\.{DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
DOMAIN = re.compile(rf"^{HOST}(?::[0-9]+)?$")
PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
NAME_TOTAL_LENGTH_MAX = 255  # Docker's limit for the whole repository name, registry included
DOCKER_HUB = "docker.io"


class ReferenceError(PushFailed):
    pass


@dataclass(frozen=True)
class Registry:
    """A checked REGISTRY: the host Docker sends the push to, and the path under it (may be empty)."""

    host: str
    path: str

    def __str__(self) -> str:
        return f"{self.host}/{self.path}" if self.path else self.host

    def repository(self, name: str) -> str:
        """The repository path inside the registry, as the distribution API names it."""
        if self.host == DOCKER_HUB and not self.path:
            return f"library/{name}"
        return f"{self.path}/{name}" if self.path else name


def is_domain(component: str) -> bool:
    """Docker's rule: the first component names a registry if it has a dot or a port, or is localhost."""
    return "." in component or ":" in component or component == "localhost"


def suggest_path(path: str) -> str:
    cleaned = (re.sub(r"[^a-z0-9._-]+", "-", component.lower()) for component in path.split("/"))
    components = [re.sub(r"[._-]{2,}", "-", component).strip("._-") for component in cleaned]
    return "/".join(component for component in components if component)


def parse_registry(text: str) -> Registry:
    """Check REGISTRY like Docker's parser would check `<REGISTRY>/<name>`; the error names the fix."""
    value = text.strip().rstrip("/")
    if not value:
        raise ReferenceError("REGISTRY is empty: give host[:port][/namespace], e.g. ghcr.io/my-org")
    scheme = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value)
    if scheme:
        raise ReferenceError(
            f"REGISTRY={text!r} is not host[:port][/namespace]: Docker names registries without a scheme; "
            f"use REGISTRY={value[scheme.end() :]}"
        )
    first, _, rest = value.partition("/")
    host, path = (first, rest) if is_domain(first) else (DOCKER_HUB, value)
    if not DOMAIN.match(host):
        raise ReferenceError(
            f"REGISTRY={text!r}: {host!r} is not a registry host: letters, digits, dots and inner hyphens, "
            "then an optional :port (e.g. myregistry.azurecr.io or 127.0.0.1:5000)"
        )
    for component in path.split("/") if path else []:
        if PATH_COMPONENT.match(component):
            continue
        if "@" in component or ":" in component:
            fix = (
                f"REGISTRY names no tag or digest; use REGISTRY={host}/{suggest_path(path.split(':')[0].split('@')[0])}"
            )
        elif PATH_COMPONENT.match(component.lower()):
            fix = f"repository names must be lowercase; use REGISTRY={host}/{path.lower()}"
        else:
            fix = (
                "each path component is lowercase letters and digits joined by '.', '_', '__' or '-'; "
                f"try REGISTRY={host}/{suggest_path(path)}"
            )
        raise ReferenceError(f"REGISTRY={text!r}: {component!r} is not a valid repository path component: {fix}")
    return Registry(host, path)


def check_name_length(registry: Registry, name: str) -> None:
    full = f"{registry}/{name}"
    if len(full) > NAME_TOTAL_LENGTH_MAX:
        raise ReferenceError(
            f"{full} is {len(full)} characters; Docker allows {NAME_TOTAL_LENGTH_MAX}: use a shorter namespace"
        )
