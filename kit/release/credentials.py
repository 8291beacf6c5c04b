"""Registry credentials, per registry host, from where users keep them; the secret is never printed.

Precedence (first match wins):
1. `REGISTRY_USERNAME_<HOST>` / `REGISTRY_PASSWORD_<HOST>` (HOST upper-cased, other characters as `_`:
   registry.test:5000 -> REGISTRY_USERNAME_REGISTRY_TEST_5000), for CI pushing to several registries;
2. `REGISTRY_USERNAME` / `REGISTRY_PASSWORD`, only when the push goes to one registry host;
3. the Docker config (`$DOCKER_CONFIG/config.json`, else ~/.docker/config.json), as the docker CLI reads it:
   a helper named in `credHelpers` for the host, else the `credsStore` helper, else the `auths` entry.
A helper is a `docker-credential-<name>` executable on the PATH speaking Docker's credential-helper protocol
(docker/docker-credential-helpers): `get` with the server on stdin, JSON with Username/Secret on stdout.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kit.errors import PushFailed

DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
IDENTITY_TOKEN_USER = "<token>"  # a helper's answer that carries an identity (refresh) token, not a password
HELPER_TIMEOUT_S = 30


class CredentialError(PushFailed):
    pass


@dataclass
class Credential:
    """What the kit sends to one registry host, and where it came from (for messages; never the secret)."""

    host: str
    source: str  # e.g. "environment REGISTRY_USERNAME_X/REGISTRY_PASSWORD_X"; "none" when nothing was found
    username: str = ""
    secret: str = field(default="", repr=False)
    helper: str = ""  # the helper program, when it can be asked again after a 401
    looked_in: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.secret)

    @property
    def identity_token(self) -> bool:
        return self.username == IDENTITY_TOKEN_USER

    def auth_config(self) -> dict[str, str]:
        """The engine's X-Registry-Auth document for a push (empty: anonymous)."""
        if not self.found:
            return {}
        if self.identity_token:
            return {"identitytoken": self.secret, "serveraddress": self.host}
        return {"username": self.username, "password": self.secret, "serveraddress": self.host}

    def describe(self) -> str:
        if not self.found:
            return "no credentials (anonymous)"
        who = "an identity token" if self.identity_token else f"user {self.username}"
        return f"{self.source}: {who}"

    def refresh(self) -> bool:
        """Ask the helper again (its token may have expired); True when it gave a different secret."""
        if not self.helper:
            return False
        answer = ask_helper(self.helper, self.host)
        if answer is None or answer[1] == self.secret:
            return False
        self.username, self.secret = answer
        return True


def host_key(host: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", host.upper())


def docker_config_path(environ: Mapping[str, str]) -> Path:
    folder = environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    return Path(folder) / "config.json"


def same_host(key: str, host: str) -> bool:
    """Docker config keys may carry a scheme and a path (https://host/v1/)."""
    if host == "docker.io" and key in DOCKER_HUB_KEYS:
        return True
    bare = re.sub(r"^[a-z]+://", "", key).split("/")[0]
    return bare == host


def ask_helper(program: str, host: str) -> tuple[str, str] | None:
    """(username, secret) from `program get`, or None when it has nothing for this host."""
    server = "https://index.docker.io/v1/" if host == "docker.io" else host
    try:
        done = subprocess.run(
            [program, "get"], input=server, capture_output=True, text=True, timeout=HELPER_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        raise CredentialError(
            f"{host}: the Docker config names the credential helper {program}, which is not on the PATH; "
            f"install it (e.g. {program} from its vendor) or remove it from credHelpers/credsStore"
        ) from None
    except subprocess.TimeoutExpired:
        raise CredentialError(
            f"{host}: the credential helper {program} did not answer in {HELPER_TIMEOUT_S} s"
        ) from None
    if done.returncode != 0:
        if "credentials not found" in done.stdout + done.stderr:
            return None
        reason = (done.stderr or done.stdout).strip().splitlines()[:1]
        raise CredentialError(
            f"{host}: the credential helper {program} failed (exit {done.returncode}: {' '.join(reason)[:200]}); "
            "log in again with the registry's CLI"
        )
    try:
        answer = json.loads(done.stdout)
        return str(answer["Username"]), str(answer["Secret"])
    except (ValueError, KeyError, TypeError):
        raise CredentialError(f"{host}: the credential helper {program} answered something other than JSON") from None


def from_environment(host: str, single_host: bool, environ: Mapping[str, str]) -> Credential | None:
    key = host_key(host)
    user_var, password_var = f"REGISTRY_USERNAME_{key}", f"REGISTRY_PASSWORD_{key}"
    if environ.get(user_var) and environ.get(password_var):
        return Credential(host, f"environment {user_var}/{password_var}", environ[user_var], environ[password_var])
    if single_host and environ.get("REGISTRY_USERNAME") and environ.get("REGISTRY_PASSWORD"):
        source = "environment REGISTRY_USERNAME/REGISTRY_PASSWORD"
        return Credential(host, source, environ["REGISTRY_USERNAME"], environ["REGISTRY_PASSWORD"])
    return None


def from_docker_config(host: str, environ: Mapping[str, str]) -> Credential | None:
    path = docker_config_path(environ)
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text())
    except ValueError:
        raise CredentialError(f"{path} is not JSON; fix it or log in again with `docker login {host}`") from None
    helpers = {key: value for key, value in config.get("credHelpers", {}).items() if same_host(key, host)}
    helper_name = next(iter(helpers.values()), "") or config.get("credsStore", "")
    if helper_name:
        program = f"docker-credential-{helper_name}"
        which = "credHelpers" if helpers else "credsStore"
        answer = ask_helper(program, host)
        if answer is not None:
            return Credential(host, f"credential helper {program} ({which} in {path})", *answer, helper=program)
        if helpers:
            return None  # the docker CLI does not fall back past a host's own helper
    for key, entry in config.get("auths", {}).items():
        if same_host(key, host) and (entry.get("auth") or entry.get("identitytoken")):
            if entry.get("identitytoken"):
                return Credential(host, f"Docker config auths ({path})", IDENTITY_TOKEN_USER, entry["identitytoken"])
            try:
                username, _, secret = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise CredentialError(f"{path}: the auths entry for {key} is not base64 user:password") from None
            return Credential(host, f"Docker config auths ({path})", username, secret)
    return None


def places(host: str, single_host: bool, environ: Mapping[str, str]) -> tuple[str, ...]:
    key = host_key(host)
    looked = [f"REGISTRY_USERNAME_{key}/REGISTRY_PASSWORD_{key}"]
    if single_host:
        looked.append("REGISTRY_USERNAME/REGISTRY_PASSWORD")
    looked.append(f"{docker_config_path(environ)} (credHelpers, credsStore, auths)")
    return tuple(looked)


def resolve(host: str, single_host: bool, environ: Mapping[str, str] | None = None) -> Credential:
    """The credential for one registry host, by the precedence in this module's docstring."""
    environ = os.environ if environ is None else environ
    looked = places(host, single_host, environ)
    found = from_environment(host, single_host, environ) or from_docker_config(host, environ)
    if found is None:
        return Credential(host, "none", looked_in=looked)
    found.looked_in = looked
    return found
