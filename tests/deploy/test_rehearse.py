"""The rehearsal's short form (make rehearse runs 3 replicas): 2 replicas of the tested example behind a real
HAProxy on 127.0.0.1, each replaced under steady load; HAProxy never retries, so every failed request is counted."""

from __future__ import annotations

import docker
import pytest

from kit.deploy.rehearse import PHASES, RehearsalPlan, rehearse
from kit.spec.image import ImageSpec
from tests.deploy.conftest import EXAMPLE_FOLDER

pytestmark = pytest.mark.docker


def test_rolling_replacement_under_load_fails_no_request(
    docker_client: docker.DockerClient, tested_example: str, example_spec: ImageSpec
) -> None:
    plan = RehearsalPlan(replicas=2, phase_s=5.0, rate=20.0)
    report = rehearse(docker_client, example_spec, EXAMPLE_FOLDER, plan, tested_example)
    assert report.replaced == 2
    assert [report.phases[phase].errors for phase in PHASES] == [0, 0, 0], report.first_errors
    assert all(report.phases[phase].sent > 0 for phase in PHASES)
    assert report.passed
    leftovers = docker_client.containers.list(all=True, filters={"name": f"triton-kit-rehearse-{example_spec.name}"})
    assert leftovers == []
