"""`make rehearse IMAGE=...`: replicas of a tested image on this machine behind HAProxy, then a rolling replacement
of every replica under steady load, the way a Deployment with maxSurge 1 / maxUnavailable 0 rolls: start the new
replica, wait until the balancer sees it ready, drain the old one, stop it (SIGTERM), repeat. Reports requests sent,
errors and latency before, during and after the rollout."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.table import Table

from kit.deploy.haproxy import HAProxy, Slot
from kit.deploy.load import Outcome, Request, SteadyLoad
from kit.deploy.manifests import deploy_values
from kit.docker import sdk
from kit.docker.containers import OWNER_LABEL, free_port, wait_for_http_ok
from kit.docker.sdk import Container, ImageNotFound, NotFound
from kit.errors import KitError
from kit.paths import BUILD_DIR
from kit.progress import console
from kit.spec.image import ImageSpec, sample_expected, sample_request
from kit.verify.smoke import loopback_environment
from scoring import settings

PHASES = ("before", "during", "after")


@dataclass(frozen=True)
class RehearsalPlan:
    replicas: int = 3
    phase_s: float = 15.0  # steady load before and after the rollout
    rate: float = 40.0  # requests per second through the balancer
    clients: int = 4
    ready_timeout_s: float = float(settings.default("TRITON_READY_TIMEOUT"))


@dataclass
class PhaseStats:
    sent: int = 0
    errors: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0


@dataclass
class RehearsalReport:
    image: str
    replicas: int
    replaced: int = 0
    phases: dict[str, PhaseStats] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        counted = all(self.phases.get(phase, PhaseStats()).sent > 0 for phase in PHASES)
        return counted and self.replaced == self.replicas and not any(s.errors for s in self.phases.values())


@dataclass
class Replica:
    container: Container
    port: int
    slot: Slot


def percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def summarise(report: RehearsalReport, outcomes: list[Outcome]) -> None:
    for phase in PHASES:
        latencies = [item.latency_s * 1000 for item in outcomes if item.phase == phase]
        errors = [item.error for item in outcomes if item.phase == phase and item.error]
        report.phases[phase] = PhaseStats(
            len(latencies), len(errors), round(percentile(latencies, 0.5), 2), round(percentile(latencies, 0.99), 2)
        )
        report.first_errors += [f"{phase}: {error}" for error in errors[:5]]


def load_request(spec: ImageSpec, folder: Path) -> Request:
    sample = next((item for item in spec.samples if item.method == "POST" and item.compare_as == "json"), None)
    if sample is None:
        raise KitError(
            f"{folder / 'image.yaml'}: samples: the rehearsal needs one POST sample with a JSON answer; add one"
        )
    return Request(
        sample_request(folder, sample),
        sample.status,
        sample_expected(folder, sample),
        sample.tolerance,
        tuple(sample.fields or ()),
    )


class Fleet:
    """The rehearsal's containers: started on free loopback ports, always removed at the end."""

    def __init__(self, docker_client: sdk.DockerClient, image: str, spec: ImageSpec, plan: RehearsalPlan) -> None:
        self.docker_client, self.image, self.spec, self.plan = docker_client, image, spec, plan
        self.started: list[Container] = []
        self.stop_timeout_s = deploy_values(spec).termination_grace_s

    def start(self, slot: Slot) -> Replica:
        port, triton_port = free_port(), free_port()
        container = self.docker_client.containers.run(
            self.image,
            detach=True,
            network_mode="host",
            name=f"triton-kit-rehearse-{self.spec.name}-{port}",
            environment=loopback_environment(port, triton_port),
            labels={OWNER_LABEL: "triton-kit"},
        )
        self.started.append(container)
        wait_for_http_ok(container, f"http://127.0.0.1:{port}/ready", self.plan.ready_timeout_s)
        return Replica(container, port, slot)

    def stop(self, replica: Replica) -> None:
        replica.container.stop(timeout=self.stop_timeout_s)

    def remove_all(self) -> None:
        for container in self.started:
            with suppress(NotFound):
                container.remove(force=True)


@contextmanager
def balancer(folder: Path, slots: list[Slot], image: str) -> Iterator[HAProxy]:
    proxy = HAProxy(folder, slots, image)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


def roll(proxy: HAProxy, fleet: Fleet, replicas: list[Replica], spare: Slot, report: RehearsalReport) -> None:
    """Replace every replica, one at a time, never below the planned number of ready replicas."""
    for index, old in enumerate(list(replicas)):
        new = fleet.start(spare)
        proxy.place(spare, new.port)
        proxy.wait_for(spare, "UP", 30)
        proxy.drain(old.slot)
        proxy.wait_for(old.slot, "DRAIN", 30, idle=True)
        fleet.stop(old)
        proxy.empty(old.slot)
        replicas[index], spare = new, old.slot
        report.replaced += 1
        console.print(f"rehearse: replica {index + 1}/{len(replicas)} replaced (127.0.0.1:{old.port} -> {new.port})")


def rehearse(
    docker_client: sdk.DockerClient, spec: ImageSpec, folder: Path, plan: RehearsalPlan, image: str = ""
) -> RehearsalReport:
    """Rehearses `image` (default: the spec's name:version tag)."""
    image = image or f"{spec.name}:{spec.version}"
    try:
        docker_client.images.get(image)
    except ImageNotFound:
        raise KitError(f"{image} not found; build and test it first: make build IMAGES={spec.name}") from None
    report = RehearsalReport(image, plan.replicas)
    request = load_request(spec, folder)
    fleet = Fleet(docker_client, image, spec, plan)
    slots = [Slot(f"slot{index}") for index in range(plan.replicas + 1)]  # one spare for the surge replica
    with tempfile.TemporaryDirectory(prefix="triton-kit-rehearse-") as scratch:
        try:
            replicas = [fleet.start(slot) for slot in slots[:-1]]
            for replica in replicas:
                replica.slot.port = replica.port
            with balancer(Path(scratch), slots, image) as proxy:
                for replica in replicas:
                    proxy.wait_for(replica.slot, "UP", 30)
                console.print(f"rehearse: {plan.replicas} replicas of {image} behind haproxy 127.0.0.1:{proxy.port}")
                load = SteadyLoad(proxy.port, request, plan.rate, plan.clients)
                load.start()
                try:
                    time.sleep(plan.phase_s)
                    load.phase = "during"
                    roll(proxy, fleet, replicas, slots[-1], report)
                    load.phase = "after"
                    time.sleep(plan.phase_s)
                finally:
                    outcomes = load.stop()
        finally:
            fleet.remove_all()
    summarise(report, outcomes)
    print_report(report)
    path = BUILD_DIR / spec.name / "rehearsal.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**asdict(report), "passed": report.passed}, indent=2) + "\n")
    console.print(f"rehearse: report in {path}")
    return report


def print_report(report: RehearsalReport) -> None:
    table = Table(title=f"rehearsal: {report.image}, {report.replicas} replicas, {report.replaced} replaced")
    for column in ("phase", "sent", "errors", "p50 ms", "p99 ms"):
        table.add_column(column)
    for phase, stats in report.phases.items():
        table.add_row(phase, str(stats.sent), str(stats.errors), f"{stats.p50_ms:.1f}", f"{stats.p99_ms:.1f}")
    console.print(table)
    for line in report.first_errors:
        console.print(f"  {line}", markup=False)
    console.print("rehearse: " + ("passed (0 failed requests)" if report.passed else "FAILED"))
