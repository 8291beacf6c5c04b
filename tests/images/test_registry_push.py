"""make push against registries as users meet them: TLS with a private CA the engine trusts through certs.d,
htpasswd auth, two registries with different credentials, credentials from the environment, `docker login`'s auths
and credential helpers; the failures users hit, each ending with exit code 5, a message naming the registry, the
cause and the fix, and no registry tag left behind locally; the SBOM attached and read back."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import docker
import pytest
import requests

from kit import PROJECT_ROOT
from kit.context.render import BUILD_DIR
from kit.errors import ExitCode
from kit.release.credentials import host_key
from tests.images.conftest import PUSH_IMAGE, REGISTRY_USERS
from tests.images.registry_servers import CertificateAuthority, ConnectProxy, CuttingProxy, TlsRegistry

pytestmark = pytest.mark.docker
MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
SBOM_TYPE = "application/vnd.cyclonedx+json"
FOLDER: list[str] = []  # the push image's folder (the CLI takes it as the image's name), set by `folder` below
TRANSCRIPT: list[str] = []  # every output of this module, searched for the planted passwords at the end
ALICE, BOB = ("alice", REGISTRY_USERS["alice"]), ("bob", REGISTRY_USERS["bob"])

HELPER = """#!{python}
# A credential helper speaking Docker's protocol (docker/docker-credential-helpers): `get` reads the server on
# stdin and answers JSON. Its store is a JSON file beside it: server -> [username, secret, secret, ...]; each get
# hands out the next secret (the first may be an expired one) and keeps the last. Calls are logged, secrets not.
import json, sys
from pathlib import Path
here = Path(__file__).parent
store = json.loads((here / "store.json").read_text())
action, server = sys.argv[1], sys.stdin.read().strip()
with (here / "calls.log").open("a") as log:
    log.write(f"{{action}} {{server}}\\n")
if action != "get":
    sys.exit(0)
if server not in store:
    print("credentials not found in native keychain")
    sys.exit(1)
username, *secrets = store[server]
print(json.dumps({{"ServerURL": server, "Username": username, "Secret": secrets[0]}}))
if len(secrets) > 1:
    store[server] = [username, *secrets[1:]]
    (here / "store.json").write_text(json.dumps(store))
"""


@pytest.fixture(autouse=True)
def folder(push_image: str) -> None:
    FOLDER[:] = [push_image]


def clean_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No registry credentials from the outside; an empty temporary DOCKER_CONFIG; helpers on the PATH."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}
    config = tmp_path / "docker-config"
    config.mkdir(exist_ok=True)
    helpers = tmp_path / "helpers"
    helpers.mkdir(exist_ok=True)
    environ.update(
        DOCKER_CONFIG=str(config), PATH=f"{helpers}:{environ['PATH']}", PUSH_BACKOFF_S="1", NO_PROXY="registry.test"
    )
    environ.update(extra)
    return environ


def write_docker_config(environ: dict[str, str], **config: object) -> None:
    (Path(environ["DOCKER_CONFIG"]) / "config.json").write_text(json.dumps(config))


def install_helper(environ: dict[str, str], name: str, store: dict[str, list[str]]) -> Path:
    folder = Path(environ["PATH"].split(":")[0])
    program = folder / f"docker-credential-{name}"
    program.write_text(HELPER.format(python=sys.executable))
    program.chmod(0o755)
    (folder / "store.json").write_text(json.dumps(store))
    return folder / "calls.log"


def env_pair(registry: TlsRegistry, user: tuple[str, str]) -> dict[str, str]:
    key = host_key(registry.address)
    return {f"REGISTRY_USERNAME_{key}": user[0], f"REGISTRY_PASSWORD_{key}": user[1]}


def run_cli(environ: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "build.py", "--progress", "plain", *arguments]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=600, check=False
    )
    TRANSCRIPT.append(done.stdout + done.stderr)
    return done


def push(environ: dict[str, str], *registries: str, options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    arguments = [argument for registry in registries for argument in ("--registry", registry)]
    return run_cli(environ, "push", FOLDER[0], *arguments, *options)


def api(registry: TlsRegistry, user: tuple[str, str], path: str, accept: str = MANIFEST_TYPES) -> requests.Response:
    return requests.get(
        f"https://{registry.address}/v2/{path}",
        auth=user,
        headers={"Accept": accept},
        verify=str(registry.ca.cert),
        timeout=30,
    )


def remote_digest(registry: TlsRegistry, user: tuple[str, str], repository: str, tag: str) -> str:
    response = api(registry, user, f"{repository}/manifests/{tag}")
    assert response.status_code == 200, response.text
    return response.headers["Docker-Content-Digest"]


def read_sbom(registry: TlsRegistry, user: tuple[str, str], repository: str, digest: str) -> bytes:
    """The SBOM as another OCI client finds it on a registry without the referrers API: the sha256-<hex> tag."""
    assert api(registry, user, f"{repository}/referrers/{digest}").status_code == 404  # registry 2.8: no such API
    index = api(registry, user, f"{repository}/manifests/{digest.replace(':', '-')}", INDEX_TYPE).json()
    [entry] = [item for item in index["manifests"] if item.get("artifactType") == SBOM_TYPE]
    artifact = api(registry, user, f"{repository}/manifests/{entry['digest']}", entry["mediaType"]).json()
    assert artifact["subject"]["digest"] == digest
    return api(registry, user, f"{repository}/blobs/{artifact['layers'][0]['digest']}").content


def pushed_lines(output: str) -> dict[str, str]:
    return {
        line.split()[1]: line.split()[2] for line in output.splitlines() if line.startswith(("pushed ", "verified "))
    }


def registry_tags(docker_client: docker.DockerClient, address: str) -> list[str]:
    return [tag for image in docker_client.images.list() for tag in image.tags if tag.startswith(f"{address}/")]


def assert_failed(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    output = done.stdout + done.stderr
    assert done.returncode == ExitCode.PUSH, output
    assert "Traceback" not in output
    for phrase in phrases:
        assert phrase in output, output


def test_two_registries_each_with_its_own_credentials_digests_and_sbom(
    push_image: str, auth_registries: tuple[TlsRegistry, TlsRegistry], docker_client, tmp_path: Path
) -> None:
    first, second = auth_registries
    environ = clean_environment(tmp_path, **env_pair(second, BOB))  # bob's registry: CI variables for that host
    install_helper(environ, "kittest", {first.address: list(ALICE)})  # alice's registry: a credential helper
    write_docker_config(environ, credHelpers={first.address: "kittest"})
    done = push(environ, f"{first.address}/team", f"{second.address}/prod")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"credential helper docker-credential-kittest (credHelpers in {environ['DOCKER_CONFIG']}" in output
    assert f"environment REGISTRY_USERNAME_{host_key(second.address)}" in output
    pushed = pushed_lines(done.stdout)
    assert len(pushed) == 4 and len(set(pushed.values())) == 1  # two tags in two registries, one digest
    digest = next(iter(pushed.values()))
    sbom = (BUILD_DIR / PUSH_IMAGE / "deploy" / "sbom.cdx.json").read_bytes()
    for registry, user, namespace in ((first, ALICE, "team"), (second, BOB, "prod")):
        repository = f"{namespace}/{PUSH_IMAGE}"
        for reference in pushed:
            if reference.startswith(f"{registry.address}/"):
                assert remote_digest(registry, user, repository, reference.rpartition(":")[2]) == digest
        assert read_sbom(registry, user, repository, digest) == sbom
        # Each registry refuses the other one's user: the right credentials went to each.
        other = BOB if user == ALICE else ALICE
        assert api(registry, other, f"{repository}/manifests/{digest}").status_code == 401

    again = push(environ, f"{first.address}/team", f"{second.address}/prod")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("(on record); skipped") == 6  # four tags and two SBOMs
    manifests = run_cli(environ, "manifests", FOLDER[0], "--registry", f"{first.address}/team")
    assert manifests.returncode == 0, manifests.stdout + manifests.stderr
    assert f"SBOM attached to {first.address}/team/{PUSH_IMAGE}@{digest}" in manifests.stdout


def test_docker_login_auths_alone(push_image: str, auth_registries, docker_client, tmp_path: Path) -> None:
    first, _ = auth_registries
    environ = clean_environment(tmp_path)
    login = subprocess.run(
        ["docker", "login", first.address, "--username", ALICE[0], "--password-stdin"],
        input=ALICE[1], env=environ, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr
    assert first.address in json.loads((Path(environ["DOCKER_CONFIG"]) / "config.json").read_text())["auths"]
    done = push(environ, f"{first.address}/login")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "credentials from Docker config auths" in done.stdout
    for reference, digest in pushed_lines(done.stdout).items():
        assert remote_digest(first, ALICE, f"login/{PUSH_IMAGE}", reference.rpartition(":")[2]) == digest


def test_environment_pair_alone(push_image: str, auth_registries, tmp_path: Path) -> None:
    first, _ = auth_registries
    environ = clean_environment(tmp_path, REGISTRY_USERNAME=ALICE[0], REGISTRY_PASSWORD=ALICE[1])
    done = push(environ, f"{first.address}/ci")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "credentials from environment REGISTRY_USERNAME/REGISTRY_PASSWORD: user alice" in done.stdout
    assert len(pushed_lines(done.stdout)) == 2


def test_creds_store_helper_with_an_expired_token_is_asked_again(push_image: str, auth_registries, tmp_path) -> None:
    first, _ = auth_registries
    environ = clean_environment(tmp_path)
    calls = install_helper(environ, "kitstore", {first.address: [ALICE[0], "expired-token-0000", ALICE[1]]})
    write_docker_config(environ, credsStore="kitstore", auths={first.address: {}})  # as Docker Desktop leaves it
    done = push(environ, f"{first.address}/store")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "credential helper docker-credential-kitstore (credsStore" in done.stdout
    assert calls.read_text().splitlines().count(f"get {first.address}") == 2  # asked again after the 401
    assert len(pushed_lines(done.stdout)) == 2


def test_precedence_of_credential_sources_in_the_dry_run(push_image: str, auth_registries, tmp_path) -> None:
    first, second = auth_registries
    environ = clean_environment(tmp_path, **env_pair(first, ALICE), REGISTRY_USERNAME="carol", REGISTRY_PASSWORD="x1")
    install_helper(environ, "kittest", {first.address: ["dave", "x2"], second.address: ["erin", "x3"]})
    auth = {first.address: {"auth": "ZnJhbms6eDQ="}}  # frank:x4
    write_docker_config(environ, credHelpers={first.address: "kittest"}, auths=auth)

    def source(*registries: str) -> str:
        done = push(environ, *registries, options=("--dry-run",))
        assert done.returncode == 0, done.stdout + done.stderr
        for secret in (ALICE[1], "x1", "x2", "x3", "x4", "ZnJhbms6eDQ="):
            assert secret not in done.stdout + done.stderr
        assert "would push" in done.stdout
        return done.stdout

    assert f"environment REGISTRY_USERNAME_{host_key(first.address)}" in source(first.address)
    for key in env_pair(first, ALICE):
        del environ[key]
    assert "environment REGISTRY_USERNAME/REGISTRY_PASSWORD: user carol" in source(first.address)
    both = source(first.address, second.address)  # two hosts: the unqualified pair goes to neither
    assert "user carol" not in both and "user dave" in both and "credsStore" not in both
    del environ["REGISTRY_USERNAME"], environ["REGISTRY_PASSWORD"]
    assert "docker-credential-kittest (credHelpers" in source(first.address)
    write_docker_config(environ, auths=auth)
    assert "Docker config auths" in source(first.address) and "user frank" in source(first.address)
    write_docker_config(environ)
    assert "no credentials (anonymous)" in source(first.address)


def test_wrong_password_names_where_the_kit_looked(push_image: str, auth_registries, docker_client, tmp_path) -> None:
    first, _ = auth_registries
    environ = clean_environment(tmp_path, **env_pair(first, ("alice", "wrong-pw-61c9")))
    done = push(environ, f"{first.address}/wrong")
    key = host_key(first.address)
    assert_failed(done, first.address, f"refused the credentials from environment REGISTRY_USERNAME_{key}", "looked in")
    assert "wrong-pw-61c9" not in done.stdout + done.stderr
    assert registry_tags(docker_client, f"{first.address}/wrong") == []


def test_no_credentials_at_all(push_image: str, auth_registries, docker_client, tmp_path: Path) -> None:
    first, _ = auth_registries
    done = push(clean_environment(tmp_path), f"{first.address}/nobody")
    assert_failed(done, f"no credentials were found for {first.address}", f"docker login {first.address}")
    assert registry_tags(docker_client, f"{first.address}/nobody") == []


def test_untrusted_certificate_says_where_the_ca_goes(push_image: str, docker_client, tmp_path: Path) -> None:
    stranger = TlsRegistry(tmp_path / "untrusted", CertificateAuthority(tmp_path / "other-ca"))
    try:
        done = push(clean_environment(tmp_path), stranger.address)
        assert_failed(
            done,
            f"{stranger.address}: its TLS certificate is not trusted",
            f"/etc/docker/certs.d/{stranger.address}/ca.crt",
        )
        assert registry_tags(docker_client, stranger.address) == []
    finally:
        stranger.close()


def test_a_registry_that_is_down(push_image: str, certificate_authority, docker_client, tmp_path: Path) -> None:
    registry = TlsRegistry(tmp_path / "down", certificate_authority)
    try:
        registry.trust()
        registry.stop()
        done = push(clean_environment(tmp_path), registry.address)
        assert_failed(done, f"{registry.address}: the registry does not answer", "check that it runs")
        assert registry_tags(docker_client, registry.address) == []
    finally:
        registry.close()


def test_a_push_refused_after_tagging_leaves_no_registry_tag_behind(
    push_image: str, certificate_authority, docker_client, tmp_path: Path
) -> None:
    registry = TlsRegistry(tmp_path / "readonly", certificate_authority, readonly=True)
    try:
        registry.trust()
        done = push(clean_environment(tmp_path), f"{registry.address}/ro")
        assert f"push: {registry.address}/ro/{PUSH_IMAGE}:1.0.0 with credentials" in done.stdout  # it was tagged
        assert_failed(done, f"push to {registry.address} failed for {registry.address}/ro/{PUSH_IMAGE}:1.0.0")
        assert registry_tags(docker_client, registry.address) == []
    finally:
        registry.close()


def test_a_connection_cut_mid_upload_is_retried_then_verified(
    push_image: str, certificate_authority, docker_client, tmp_path: Path
) -> None:
    registry = TlsRegistry(tmp_path / "cut", certificate_authority, {"alice": ALICE[1]})
    proxy = CuttingProxy(registry.port, after_bytes=2_000_000)  # the first big blob upload dies after 2 MB
    try:
        registry.trust(proxy.address)
        environ = clean_environment(tmp_path, REGISTRY_USERNAME=ALICE[0], REGISTRY_PASSWORD=ALICE[1])
        done = push(environ, f"{proxy.address}/cut")
        assert done.returncode == 0, done.stdout + done.stderr
        assert proxy.cut == 1
        assert "the engine lost the connection" in done.stdout and "Retrying in" in done.stdout
        pushed = pushed_lines(done.stdout)
        assert len(pushed) == 2
        for reference, digest in pushed.items():  # read straight from the registry, not through the proxy
            assert remote_digest(registry, ALICE, f"cut/{PUSH_IMAGE}", reference.rpartition(":")[2]) == digest
    finally:
        proxy.close()
        registry.close()
        for tag in registry_tags(docker_client, proxy.address):
            docker_client.images.remove(tag, noprune=True)


def test_a_tag_naming_another_image_is_refused_then_the_rerun_skips_what_is_verified(
    push_image: str, auth_registries, docker_client, tmp_path: Path
) -> None:
    first, second = auth_registries
    other = f"{second.address}/other/{PUSH_IMAGE}"
    intruder(docker_client, other)  # another image already holds the version tag in bob's registry
    their_digest = remote_digest(second, BOB, f"other/{PUSH_IMAGE}", "1.0.0")
    environ = clean_environment(tmp_path, **env_pair(first, ALICE), **env_pair(second, BOB))
    done = push(environ, f"{first.address}/other", f"{second.address}/other")
    assert_failed(done, f"{other}:1.0.0 already names another image: {their_digest}", "--overwrite", "bump `version:`")
    assert registry_tags(docker_client, f"{second.address}/other") == []  # nothing half-tagged locally
    assert remote_digest(second, BOB, f"other/{PUSH_IMAGE}", "1.0.0") == their_digest  # untouched
    assert len(pushed_lines(done.stdout)) == 0 and done.stdout.count(" verified sha256:") == 2  # the first registry

    again = push(environ, f"{first.address}/other", f"{second.address}/other", options=("--overwrite",))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("already verified at") == 2  # the first registry's tags, verified on record
    ours = pushed_lines(again.stdout)
    assert remote_digest(second, BOB, f"other/{PUSH_IMAGE}", "1.0.0") == ours[f"{other}:1.0.0"] != their_digest


def intruder(docker_client: docker.DockerClient, repository: str) -> None:
    """A tiny image of its own pushed by the engine to `repository:1.0.0` (bob's credentials), then untagged."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("intruder.txt")
        info.size = 8
        tar.addfile(info, io.BytesIO(b"intruder"))
    docker_client.api.import_image_from_data(data.getvalue(), repository=repository, tag="1.0.0")
    try:
        auth = {"username": BOB[0], "password": BOB[1]}
        for line in docker_client.api.push(repository, tag="1.0.0", stream=True, decode=True, auth_config=auth):
            assert "error" not in line, line
    finally:
        docker_client.images.remove(f"{repository}:1.0.0")


def test_the_kits_own_registry_calls_honour_https_proxy_and_no_proxy(
    push_image: str, auth_registries, tmp_path
) -> None:
    first, _ = auth_registries
    proxy = ConnectProxy()
    try:
        environ = clean_environment(tmp_path, **env_pair(first, ALICE), HTTPS_PROXY=proxy.url, NO_PROXY="")
        environ.update(https_proxy=proxy.url, no_proxy="")
        done = push(environ, f"{first.address}/proxied")
        assert done.returncode == 0, done.stdout + done.stderr
        assert proxy.targets and set(proxy.targets) == {first.address}  # read-back and SBOM went through the proxy
        proxy.targets.clear()
        environ.update(NO_PROXY="registry.test", no_proxy="registry.test")
        again = push(environ, f"{first.address}/proxied")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already verified at" in again.stdout and proxy.targets == []
    finally:
        proxy.close()


def test_no_password_in_any_output_log_or_build_file(push_image: str, auth_registries, tmp_path: Path) -> None:
    """Runs last in this module: the planted passwords appear in none of its outputs, nor under build/."""
    first, second = auth_registries
    environ = clean_environment(tmp_path, **env_pair(first, ALICE), **env_pair(second, ("bob", "planted-wrong-4d2e")))
    push(environ, first.address, second.address, options=("--dry-run",))
    assert_failed(push(environ, f"{first.address}/secret", f"{second.address}/secret"), "refused the credentials")
    planted = [secret.encode() for secret in REGISTRY_USERS.values()] + [b"expired-token-0000", b"planted-wrong-4d2e"]
    outputs = "\n".join(TRANSCRIPT).encode()
    assert [secret for secret in planted if secret in outputs] == []
    files = [path for path in BUILD_DIR.rglob("*") if path.is_file()]
    assert [str(path) for path in files if any(secret in path.read_bytes() for secret in planted)] == []
    assert shutil.which("docker-registry")  # the registries above were the real thing
