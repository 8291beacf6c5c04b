"""Error texts the tests cannot provoke here (registry-side immutability of ECR, Harbor and ACR: quoted from their
documentation and issue threads, untested against those registries), mapped to a cause and a fix; and the
credential messages, which never carry the secret."""

from __future__ import annotations

import pytest

from kit.release.credentials import Credential
from kit.release.push_errors import explain

ALICE = Credential("registry.example.com", "environment REGISTRY_USERNAME/REGISTRY_PASSWORD", "alice", "s3cret-9f1")


@pytest.mark.parametrize(
    ("text", "registry"),
    [
        (
            "tag invalid: The image tag '1.0.0' already exists in the 'team/app' repository and cannot be overwritten "
            "because the repository is immutable.",
            "ECR",
        ),
        ("denied: Failed to process request due to 'app:1.0.0' configured as immutable", "Harbor"),
        ("denied: Failed to process request, due to 'app:1.0.0' is a immutable tag.", "Harbor"),
        ("denied: The operation is disallowed on this registry, repository or image.", "ACR"),
    ],
)
def test_registry_side_immutability_is_named_with_the_fix(text: str, registry: str) -> None:
    cause = explain(text, ALICE)
    assert cause.kind == "immutable" and not cause.retry
    assert cause.message.startswith("registry.example.com: the registry refuses to overwrite the tag")
    assert registry in cause.message and "bump `version:`" in cause.message


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("unauthorized: authentication required", "auth"),
        ("Get https://r/v2/: x509: certificate signed by unknown authority", "tls"),
        ("dial tcp [::1]:5000: connect: connection refused", "down"),
        ("write tcp [::1]:1->[::1]:2: write: broken pipe", "transient"),
        ("received unexpected HTTP status: 503 Service Unavailable", "transient"),
        ("manifest invalid: manifest invalid", "other"),
    ],
)
def test_engine_errors_are_classified(text: str, kind: str) -> None:
    cause = explain(text, ALICE)
    assert cause.kind == kind
    assert cause.retry == (kind == "transient")
    assert "s3cret-9f1" not in cause.message


def test_credential_messages_name_the_source_and_never_the_secret() -> None:
    refused = explain("unauthorized", ALICE).message
    assert "refused the credentials from environment REGISTRY_USERNAME/REGISTRY_PASSWORD" in refused
    assert "user alice" in refused and "s3cret-9f1" not in refused and repr(ALICE).count("s3cret") == 0
    nobody = explain(
        "no basic auth credentials", Credential("ghcr.io", "none", looked_in=("REGISTRY_USERNAME_GHCR_IO",))
    )
    assert "no credentials were found for ghcr.io (looked in: REGISTRY_USERNAME_GHCR_IO)" in nobody.message
    assert "docker login ghcr.io" in nobody.message
