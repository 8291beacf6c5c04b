"""The kit's own calls to a registry (OCI distribution API): read manifests back, upload the SBOM artifact.

Trust and transport as the Docker engine has them: the system CAs plus `/etc/docker/certs.d/<host:port>/*.crt`
(and a client.cert/client.key pair there), plain HTTP only for registries the engine treats as insecure, and the
HTTPS_PROXY/NO_PROXY of the environment. Auth: Basic or Bearer tokens from the registry's challenge, with the
push's own credential (a helper is asked again once after a 401).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import socket
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import certifi
import requests
from urllib3.exceptions import InsecureRequestWarning

from kit.errors import PushFailed
from kit.release.credentials import Credential

CERTS_D = Path(os.environ.get("DOCKER_CERTS_D", "/etc/docker/certs.d"))
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
TIMEOUT_S = 60
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


class RegistryError(PushFailed):
    pass


class Unauthorized(RegistryError):
    pass


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    size: int
    body: bytes

    def config_digest(self) -> str:
        try:
            return str(json.loads(self.body).get("config", {}).get("digest", ""))
        except ValueError:
            return ""


def insecure(host: str, engine_info: dict[str, Any]) -> bool:
    """The engine's rule: an insecure-registries entry, or an address in an insecure CIDR (127.0.0.0/8 by default)."""
    registry_config = engine_info.get("RegistryConfig") or {}
    index = (registry_config.get("IndexConfigs") or {}).get(host)
    if index is not None:
        return not index.get("Secure", True)
    name = host.rsplit(":", 1)[0].strip("[]") if not host.endswith("]") else host.strip("[]")
    cidrs = registry_config.get("InsecureRegistryCIDRs") or ["127.0.0.0/8"]
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        return False
    for address in addresses:
        for cidr in cidrs:
            try:
                if ipaddress.ip_address(address.split("%")[0]) in ipaddress.ip_network(cidr):
                    return True
            except ValueError:
                continue
    return False


def system_bundle() -> str:
    """The system's CAs (what the engine trusts besides certs.d), as the environment names them."""
    for candidate in (os.environ.get("REQUESTS_CA_BUNDLE"), os.environ.get("SSL_CERT_FILE"), SYSTEM_BUNDLE):
        if candidate and Path(candidate).is_file():
            return candidate
    return certifi.where()


def trust_bundle(host: str) -> tuple[str, tuple[str, str] | None]:
    """A CA bundle file (system CAs + certs.d/<host>/*.crt) and the client certificate pair, as the engine uses them."""
    folder = CERTS_D / host
    extra = sorted(folder.glob("*.crt")) if folder.is_dir() else []
    client = (str(folder / "client.cert"), str(folder / "client.key"))
    pair = client if all(Path(path).is_file() for path in client) else None
    if not extra:
        return system_bundle(), pair
    bundle = tempfile.NamedTemporaryFile("wb", prefix="kit-ca-", suffix=".pem", delete=False)  # noqa: SIM115
    with bundle:
        bundle.write(Path(system_bundle()).read_bytes())
        for path in extra:
            bundle.write(b"\n" + path.read_bytes())
    return bundle.name, pair


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    for part in rest.split(","):
        key, _, value = part.strip().partition("=")
        if key:
            params[key] = value.strip('"')
    return scheme.lower(), params


class RegistryClient:
    """One registry host, one credential; `scheme` is https unless the engine would use plain HTTP."""

    def __init__(self, host: str, credential: Credential, plain_http_allowed: bool) -> None:
        self.host = host
        self.api_host = "registry-1.docker.io" if host == "docker.io" else host
        self.credential = credential
        self.session = requests.Session()  # trust_env: HTTPS_PROXY/NO_PROXY as users set them
        self.bundle, self.session.cert = trust_bundle(host)
        self.scheme = "https"
        self.plain_http_allowed = plain_http_allowed
        self.tokens: dict[str, str] = {}
        self.basic = False

    def close(self) -> None:
        self.session.close()
        if Path(self.bundle).name.startswith("kit-ca-"):
            Path(self.bundle).unlink(missing_ok=True)

    def http(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        # verify on each call: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's own bundle.
        # An insecure registry (the engine's rule) is not verified, as the engine does not verify it.
        verify = False if self.plain_http_allowed else self.bundle
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureRequestWarning)
            return self.session.request(method, url, verify=verify, timeout=TIMEOUT_S, **kwargs)

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.api_host}{path}"

    def probe(self) -> None:
        """GET /v2/ once: picks the scheme, and turns an unreachable or untrusted registry into a clear error."""
        try:
            self.http("GET", self.url("/v2/"))
            return
        except requests.exceptions.SSLError as error:
            if not self.plain_http_allowed:
                raise RegistryError(
                    f"{self.host}: its TLS certificate is not trusted ({short(error)}); put the registry's CA "
                    f"certificate in {CERTS_D / self.host / 'ca.crt'} (the Docker engine reads it there too)"
                ) from None
        except requests.exceptions.ConnectionError as error:
            if not self.plain_http_allowed:
                raise down(self.host, error) from None
        self.scheme = "http"  # the engine falls back to plain HTTP for insecure registries only
        try:
            self.http("GET", self.url("/v2/"))
        except requests.exceptions.ConnectionError as error:
            raise down(self.host, error) from None

    def authorize(self, response: requests.Response, scope: str) -> bool:
        """Answer a 401 challenge with the credential; False when that is not possible or was refused."""
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic":
            self.basic = self.credential.found
            return self.basic
        if scheme != "bearer" or "realm" not in params:
            return False
        query = {"service": params.get("service", ""), "scope": scope}
        if self.credential.identity_token:
            data = {**query, "grant_type": "refresh_token", "refresh_token": self.credential.secret}
            reply = self.http("POST", params["realm"], data=data)
        else:
            auth = (self.credential.username, self.credential.secret) if self.credential.found else None
            reply = self.http("GET", params["realm"], params=query, auth=auth)
        if reply.status_code != 200:
            return False
        answer = reply.json()
        self.tokens[scope] = answer.get("token") or answer.get("access_token", "")
        return bool(self.tokens[scope])

    def send(self, method: str, url: str, scope: str, headers: dict[str, str], **kwargs: Any) -> requests.Response:
        headers = dict(headers)
        auth = None
        if scope in self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens[scope]}"
        elif self.basic:
            auth = (self.credential.username, self.credential.secret)
        try:
            return self.http(method, url, headers=headers, auth=auth, **kwargs)
        except requests.exceptions.SSLError as error:
            raise RegistryError(f"{self.host}: TLS failed ({short(error)})") from None
        except requests.exceptions.ConnectionError as error:
            raise down(self.host, error) from None

    def request(
        self, method: str, path: str, scope: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """One API call; a 401 is answered with the credential, then once more after asking a helper again."""
        url = path if path.startswith("http") else self.url(path)
        response = self.send(method, url, scope, headers or {}, **kwargs)
        if response.status_code == 401 and self.authorize(response, scope):
            response = self.send(method, url, scope, headers or {}, **kwargs)
        if response.status_code == 401 and self.credential.refresh():
            self.tokens.pop(scope, None)  # a helper's token had expired: it was asked again
            if self.authorize(response, scope):
                response = self.send(method, url, scope, headers or {}, **kwargs)
        if response.status_code == 401:
            raise Unauthorized(f"{self.host}: {method} {path.split('?')[0]} was refused (401 Unauthorized)")
        return response

    def manifest(self, repository: str, reference: str) -> Manifest | None:
        """The manifest a tag or digest names, or None when the registry has none."""
        scope = f"repository:{repository}:pull"
        response = self.request(
            "GET", f"/v2/{repository}/manifests/{reference}", scope, headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        if response.status_code == 404:
            return None
        check(response, self.host, f"read {repository}:{reference}")
        digest = (
            response.headers.get("Docker-Content-Digest") or f"sha256:{hashlib.sha256(response.content).hexdigest()}"
        )
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        return Manifest(digest, media_type, len(response.content), response.content)

    def blob(self, repository: str, digest: str) -> bytes:
        response = self.request("GET", f"/v2/{repository}/blobs/{digest}", f"repository:{repository}:pull")
        check(response, self.host, f"read blob {digest} of {repository}")
        if f"sha256:{hashlib.sha256(response.content).hexdigest()}" != digest:
            raise RegistryError(f"{self.host}: blob {digest} of {repository} did not match its digest")
        return response.content

    def upload_blob(self, repository: str, data: bytes) -> str:
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        scope = f"repository:{repository}:pull,push"
        if self.request("HEAD", f"/v2/{repository}/blobs/{digest}", scope).status_code == 200:
            return digest
        started = self.request("POST", f"/v2/{repository}/blobs/uploads/", scope)
        check(started, self.host, f"start an upload to {repository}")
        location = urljoin(self.url("/"), started.headers["Location"])
        separator = "&" if "?" in location else "?"
        done = self.request(
            "PUT",
            f"{location}{separator}digest={digest}",
            scope,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        check(done, self.host, f"upload {digest} to {repository}")
        return digest

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> requests.Response:
        scope = f"repository:{repository}:pull,push"
        response = self.request(
            "PUT", f"/v2/{repository}/manifests/{reference}", scope, data=body, headers={"Content-Type": media_type}
        )
        check(response, self.host, f"write manifest {repository}:{reference}")
        return response

    def referrers(self, repository: str, digest: str) -> dict[str, Any] | None:
        """The OCI 1.1 referrers list, or None when the registry has no referrers API."""
        response = self.request(
            "GET",
            f"/v2/{repository}/referrers/{digest}",
            f"repository:{repository}:pull",
            headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        )
        if response.status_code != 200 or "json" not in response.headers.get("Content-Type", ""):
            return None
        return dict(response.json())


def check(response: requests.Response, host: str, what: str) -> None:
    if response.status_code >= 400:
        raise RegistryError(f"{host}: could not {what}: HTTP {response.status_code} {response.text[:200].strip()}")


def short(error: Exception) -> str:
    text = str(error)
    for marker in ("certificate verify failed", "Connection refused", "Name or service not known", "timed out"):
        if marker in text:
            return marker
    return text[:160]


def down(host: str, error: Exception) -> RegistryError:
    return RegistryError(
        f"{host}: the registry does not answer ({short(error)}); check that it runs and the address is right, "
        "then run `make push` again"
    )
