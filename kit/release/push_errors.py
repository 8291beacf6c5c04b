"""What a failed push means and what to do: the engine's and registries' error texts, mapped to a cause and a fix.

The immutability texts of ACR, ECR and Harbor are taken from their documentation and are not tested against those
registries (docs/registries.md says so); Debian's registry has no immutable tags.
"""

from __future__ import annotations

from dataclasses import dataclass

from kit.release.credentials import Credential
from kit.release.registry_api import CERTS_D

AUTH = ("unauthorized", "authentication required", "no basic auth credentials", "requested access to the resource")
TLS = ("x509:", "certificate signed by unknown authority", "certificate is not valid", "tls: failed to verify")
DOWN = ("connection refused", "no such host", "no route to host", "network is unreachable")
TRANSIENT = (
    "connection reset",
    "broken pipe",
    "eof",
    "i/o timeout",
    "use of closed network connection",
    "server sent goaway",
    "unexpected http status: 5",
    "500 internal server error",
    "502 bad gateway",
    "503 service unavailable",
    "504 gateway timeout",
    "toomanyrequests",
)
IMMUTABLE = {
    # ECR (image tag mutability IMMUTABLE): "tag invalid: The image tag '1.0.0' already exists in the 'repo'
    # repository and cannot be overwritten because the repository is immutable."
    "cannot be overwritten because the repository is immutable": "ECR: the repository's tags are immutable",
    "imagetagalreadyexistsexception": "ECR: the repository's tags are immutable",
    # Harbor (tag immutability rules, since 1.10): "Failed to process request due to 'name:tag' configured as
    # immutable"; before 1.10: "... is a immutable tag".
    "configured as immutable": "Harbor: a tag immutability rule protects this tag",
    "immutable tag": "Harbor: a tag immutability rule protects this tag",
    # ACR (`az acr repository update --write-enabled false`, or a locked image): "The operation is disallowed on
    # this registry, repository or image."
    "operation is disallowed on this registry, repository or image": "ACR: the image or repository is locked",
}


@dataclass(frozen=True)
class Cause:
    kind: str  # auth, tls, down, transient, immutable, other
    message: str

    @property
    def retry(self) -> bool:
        return self.kind == "transient"


def credentials_hint(credential: Credential) -> str:
    looked = "; ".join(credential.looked_in)
    if not credential.found:
        return (
            f"no credentials were found for {credential.host} (looked in: {looked}); "
            f"log in with `docker login {credential.host}` (or the registry's CLI), "
            "or set the environment variables above"
        )
    return (
        f"the registry refused the credentials from {credential.source} ({credential.describe()}); "
        f"check the user and password or token, or log in again with `docker login {credential.host}` "
        f"(looked in: {looked})"
    )


def explain(text: str, credential: Credential) -> Cause:
    """The cause and the fix for an error text from the engine or the registry (never contains the secret)."""
    lowered = text.lower()
    host = credential.host
    for marker, what in IMMUTABLE.items():
        if marker.lower() in lowered:
            return Cause(
                "immutable",
                f"{host}: the registry refuses to overwrite the tag ({what}); "
                "push a new version (bump `version:` in image.yaml)",
            )
    if any(marker in lowered for marker in AUTH):
        return Cause("auth", f"{host}: {credentials_hint(credential)}")
    if any(marker in lowered for marker in TLS):
        return Cause(
            "tls",
            f"{host}: its TLS certificate is not trusted; put the registry's CA certificate in "
            f"{CERTS_D / host / 'ca.crt'} (no engine restart needed)",
        )
    if any(marker in lowered for marker in DOWN):
        return Cause("down", f"{host}: the registry does not answer; check that it runs and the address is right")
    if any(marker in lowered for marker in TRANSIENT):
        return Cause("transient", f"{host}: the connection failed during the push ({text.strip()[:160]})")
    return Cause("other", f"{host}: {text.strip()[:300]}")
