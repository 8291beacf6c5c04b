"""`make push REGISTRY=host[:port][/ns]`: push only tested images, each registry with its own credentials; verify each
digest from the registry, then attach the image's SBOM. A failed push leaves no registry tag behind locally."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace

from kit.docker import sdk
from kit.docker.sdk import APIError, ImageNotFound
from kit.errors import PushFailed
from kit.paths import BUILD_DIR
from kit.progress import console
from kit.release import credentials
from kit.release.credentials import Credential
from kit.release.push_errors import Cause, explain
from kit.release.record import TestedRecord, record_path
from kit.release.reference import Registry, check_name_length, parse_registry
from kit.release.registry_api import RegistryClient, RegistryError, Unauthorized, insecure
from kit.release.sbom_attach import attach, sbom_matches_image
from kit.verify.sbom import SBOM_FILE

ATTEMPTS = int(os.environ.get("PUSH_ATTEMPTS", "4"))
BACKOFF_S = float(os.environ.get("PUSH_BACKOFF_S", "2"))  # doubles after each failed attempt


class PushError(PushFailed):
    pass


@dataclass(frozen=True)
class Pushed:
    reference: str
    digest: str
    skipped: bool = False  # already verified on record and still in the registry


@dataclass(frozen=True)
class Target:
    name: str
    image_id: str
    tags: list[str]
    registry: Registry

    @property
    def repository(self) -> str:
        return f"{self.registry}/{self.name}"

    def references(self) -> list[tuple[str, str]]:
        return [(f"{self.repository}:{tag.rpartition(':')[2]}", tag.rpartition(":")[2]) for tag in self.tags]


def check_registry(registry: str) -> str:
    return str(parse_registry(registry))


def tested_image(docker_client: sdk.DockerClient, name: str) -> tuple[str, list[str]]:
    """The image id and tags recorded by a passing smoke test, if they still name the same image."""
    record = TestedRecord.read(name)
    if record is None:
        path = record_path(name)
        raise PushError(f"{name}: no passing smoke test on record ({path}); run `make build IMAGES={name}` first")
    for tag in record.tags:
        try:
            current = docker_client.images.get(tag).id
        except ImageNotFound:
            raise PushError(f"{name}: {tag} is gone; rebuild with `make build IMAGES={name}`") from None
        if current != record.image_id:
            raise PushError(f"{name}: {tag} now names an image that was not tested; rebuild it")
    return record.image_id, record.tags


def plan_targets(docker_client: sdk.DockerClient, registries_by_image: dict[str, list[str]]) -> list[Target]:
    """Every image and registry is checked before anything is pushed."""
    targets = []
    for name, registries in registries_by_image.items():
        if not registries:
            raise PushError(
                f"{name}: no registry: make push REGISTRY=host[:port][/ns] or list `registries:` in its image.yaml"
            )
        parsed = [parse_registry(registry) for registry in registries]
        for registry in parsed:
            check_name_length(registry, name)
        image_id, tags = tested_image(docker_client, name)
        targets += [Target(name, image_id, tags, registry) for registry in parsed]
    return targets


def engine_push(docker_client: sdk.DockerClient, reference: str, credential: Credential) -> tuple[str, str]:
    """(digest, "") after a push the engine reports done, or ("", error text). Engine retries are shown."""
    repository, _, tag = reference.rpartition(":")
    digest, waits = "", dict[str, int]()
    try:
        stream = docker_client.api.push(
            repository, tag=tag, stream=True, decode=True, auth_config=credential.auth_config()
        )
        for event in stream:
            if "error" in event:
                return "", str(event["error"])
            status = str(event.get("status", ""))
            if status.startswith("Retrying in"):  # the engine's own retry counts down each second: show its start
                layer, seconds = str(event.get("id")), int(status.split()[2])
                if seconds > waits.get(layer, 0):
                    console.print(f"push: {reference}: the engine lost the connection; layer {layer}: {status}")
                waits[layer] = seconds
            digest = event.get("aux", {}).get("Digest", digest)
    except APIError as error:
        return "", str(error.explanation or error)
    return (digest, "") if digest else ("", "the engine reported no digest")


def push_with_retries(docker_client: sdk.DockerClient, reference: str, credential: Credential) -> str:
    """Push, retrying a dropped connection with backoff; a helper is asked again once after a 401."""
    refreshed = False
    cause = Cause("other", "")
    for attempt in range(1, ATTEMPTS + 1):
        started = time.monotonic()
        digest, error = engine_push(docker_client, reference, credential)
        if digest:
            console.print(f"push: {reference} pushed in {time.monotonic() - started:.1f} s (attempt {attempt})")
            return digest
        cause = explain(error, credential)
        if cause.kind == "auth" and not refreshed and credential.refresh():
            refreshed = True
            console.print(f"push: {reference}: 401 with the helper's token; asked {credential.helper} again")
            continue
        if not cause.retry or attempt == ATTEMPTS:
            break
        delay = BACKOFF_S * 2 ** (attempt - 1)
        console.print(f"push: {reference}: {cause.message}; retrying in {delay:.0f} s ({attempt}/{ATTEMPTS})")
        time.sleep(delay)
    tries = f" after {attempt} attempts" if attempt > 1 else ""
    raise PushError(f"push to {credential.host} failed for {reference}{tries}: {cause.message}")


def verify(client: RegistryClient, target: Target, tag: str, digest: str) -> None:
    """The registry itself, read with the push's credentials, must name the pushed digest and the tested image."""
    started = time.monotonic()
    remote = client.manifest(target.registry.repository(target.name), tag)
    reference = f"{target.repository}:{tag}"
    if remote is None:
        raise PushError(f"{client.host}: {reference} is not in the registry after the push reported {digest}")
    if remote.digest != digest:
        raise PushError(f"{client.host}: {reference} has digest {remote.digest}, but the push reported {digest}")
    if remote.config_digest() and remote.config_digest() != target.image_id:
        raise PushError(f"{client.host}: {reference} names image {remote.config_digest()}, not {target.image_id}")
    console.print(f"push: {reference} verified {digest} ({time.monotonic() - started:.2f} s)")


def record_pushed(name: str, reference: str, digest: str) -> None:
    """Adds the verified digest to the tested record, so `make manifests` can name the image by digest."""
    record = TestedRecord.read(name)
    if record is not None:
        replace(record, digests={**record.digests, reference: digest}).write(name)


def record_sbom(name: str, subject: str, artifact: str) -> None:
    record = TestedRecord.read(name)
    if record is not None:
        replace(record, sboms={**record.sboms, subject: artifact}).write(name)


def attach_sbom(client: RegistryClient, target: Target, digest: str) -> None:
    """After a verified push only: the SBOM written at build time for this very image."""
    subject = f"{target.repository}@{digest}"
    record = TestedRecord.read(target.name)
    if record is not None and subject in record.sboms:
        console.print(f"sbom: {subject} has its SBOM {record.sboms[subject]} (on record); skipped")
        return
    path = BUILD_DIR / target.name / "deploy" / SBOM_FILE
    if not path.is_file() or not sbom_matches_image(path.read_bytes(), target.image_id):
        console.print(f"sbom: {path} is missing or from another build; not attached (rebuild to write it)")
        return
    attached = attach(client, target.registry.repository(target.name), digest, path)
    record_sbom(target.name, subject, attached.digest)
    console.print(f"sbom: {subject} <- {attached.digest} ({attached.scheme}), read back and compared")


def open_clients(
    docker_client: sdk.DockerClient, hosts: list[str], environ: Mapping[str, str]
) -> dict[str, RegistryClient]:
    info = docker_client.info()
    if len(hosts) > 1 and environ.get("REGISTRY_USERNAME"):
        console.print(
            "push: REGISTRY_USERNAME/REGISTRY_PASSWORD go to no registry when there are several; set "
            "REGISTRY_USERNAME_<HOST>/REGISTRY_PASSWORD_<HOST> per registry (HOST upper-case, other characters _)"
        )
    clients = {}
    for host in hosts:
        credential = credentials.resolve(host, single_host=len(hosts) == 1, environ=environ)
        clients[host] = RegistryClient(host, credential, insecure(host, info))
    return clients


def describe_plan(targets: list[Target], clients: dict[str, RegistryClient]) -> list[dict[str, str]]:
    plan = []
    for target in targets:
        credential = clients[target.registry.host].credential
        console.print(f"push --dry-run: {target.registry}: credentials from {credential.describe()}")
        for reference, _ in target.references():
            console.print(f"push --dry-run: would push {reference} ({target.image_id})")
            plan.append({"reference": reference, "credentials": credential.describe()})
    return plan


def already_verified(client: RegistryClient, target: Target, reference: str, tag: str) -> str:
    """The digest on record for this reference, if the registry still names it; else ""."""
    record = TestedRecord.read(target.name)
    recorded = record.digests.get(reference, "") if record else ""
    if not recorded:
        return ""
    remote = client.manifest(target.registry.repository(target.name), tag)
    return recorded if remote is not None and remote.digest == recorded else ""


def refuse_other_image(client: RegistryClient, target: Target, reference: str, tag: str) -> None:
    remote = client.manifest(target.registry.repository(target.name), tag)
    if remote is None or remote.config_digest() == target.image_id:
        return
    raise PushError(
        f"{client.host}: {reference} already names another image: {remote.digest} (image {remote.config_digest()}); "
        f"the tested image is {target.image_id}. Push a new version (bump `version:` in image.yaml), "
        "or replace the tag with `make push OVERWRITE=1` (build.py push --overwrite)"
    )


@contextmanager
def local_tags(docker_client: sdk.DockerClient) -> Iterator[dict[str, bool]]:
    """Registry tags the kit adds locally; the ones not verified are removed again when the push fails."""
    added: dict[str, bool] = {}  # reference -> verified
    try:
        yield added
    except BaseException:
        for reference, verified in added.items():
            if not verified:
                with suppress(APIError):
                    docker_client.images.remove(reference, noprune=True)
        raise


def tag_locally(docker_client: sdk.DockerClient, target: Target, tag: str, added: dict[str, bool]) -> None:
    reference = f"{target.repository}:{tag}"
    try:
        if docker_client.images.get(reference).id == target.image_id:
            return
    except ImageNotFound:
        pass
    docker_client.images.get(target.image_id).tag(target.repository, tag)
    added[reference] = False


def push_target(
    docker_client: sdk.DockerClient, client: RegistryClient, target: Target, overwrite: bool, added: dict[str, bool]
) -> list[Pushed]:
    pushed = []
    for reference, tag in target.references():
        digest = already_verified(client, target, reference, tag)
        if digest:
            console.print(f"push: {reference} already verified at {digest} (on record); skipped")
            pushed.append(Pushed(reference, digest, skipped=True))
            continue
        if not overwrite:
            refuse_other_image(client, target, reference, tag)
        tag_locally(docker_client, target, tag, added)
        console.print(f"push: {reference} with credentials from {client.credential.describe()}")
        digest = push_with_retries(docker_client, reference, client.credential)
        verify(client, target, tag, digest)
        added[reference] = True
        record_pushed(target.name, reference, digest)
        pushed.append(Pushed(reference, digest))
    digests = {item.digest for item in pushed}
    for digest in sorted(digests):
        attach_sbom(client, target, digest)
    return pushed


def push_images(
    docker_client: sdk.DockerClient,
    registries_by_image: dict[str, list[str]],
    overwrite: bool = False,
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
) -> tuple[list[Pushed], list[dict[str, str]]]:
    """Push each tested image to its registries (or, dry run, show what and with which credentials)."""
    targets = plan_targets(docker_client, registries_by_image)
    hosts = sorted({target.registry.host for target in targets})
    clients = open_clients(docker_client, hosts, os.environ if environ is None else environ)
    try:
        if dry_run:
            return [], describe_plan(targets, clients)
        for client in clients.values():
            client.probe()
        pushed: list[Pushed] = []
        with local_tags(docker_client) as added:
            for target in targets:
                client = clients[target.registry.host]
                try:
                    pushed += push_target(docker_client, client, target, overwrite, added)
                except Unauthorized:
                    raise PushError(explain("unauthorized", client.credential).message) from None
                except RegistryError as error:
                    raise PushError(str(error)) from None
        return pushed, []
    finally:
        for client in clients.values():
            client.close()


def sboms_on_record(name: str) -> dict[str, str]:
    """repository@digest -> the SBOM artifact attached to it, for `make manifests`."""
    record = TestedRecord.read(name)
    return dict(record.sboms) if record else {}
