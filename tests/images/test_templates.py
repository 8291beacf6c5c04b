"""ENV values read back exactly from `docker image inspect`, ENV changes that recopy nothing, and an image built
from its own Dockerfile template and system packages that still keeps the kit's runtime contract."""

from __future__ import annotations

import shutil
from pathlib import Path

import docker
import pytest
import yaml

from kit import PROJECT_ROOT
from kit.base.identity import unchecked
from kit.context.render import BUILD_DIR, render_context
from kit.docker.build import BuildResult, build_image
from kit.pipeline import ImageOutcome, ensure_base, plan_images, prepare_inputs
from kit.spec.bases import CPU

pytestmark = pytest.mark.docker
OVERRIDDEN = "sniffed-uploads"
# Quotes, shell and Dockerfile metacharacters, a variable reference, backslashes (one trailing), tab, non-ASCII.
TRICKY = {
    "GREETING": """it's <a&b> "quoted" $HOME ${PATH} back\\slash; `echo no` | tee""",
    "WINDOWS_PATH": "C:\\temp\\",
    "UNICODE": "grüße, 東京 ✓",
    "TABBED": "a\tb",
    "EMPTY": "",
    "WORKER_COUNT": "1",
}


def image_env(docker_client: docker.DockerClient, image_id: str) -> dict[str, str]:
    pairs = docker_client.images.get(image_id).attrs["Config"]["Env"]
    return dict(pair.split("=", 1) for pair in pairs)


def build_without_smoke(docker_client: docker.DockerClient, folder: Path, context: Path) -> BuildResult:
    (plan,) = plan_images(docker_client, [str(folder)], "cpu")
    ensure_base(docker_client, plan, {plan.base_image})  # built by the built_examples fixture
    inputs = prepare_inputs(docker_client, plan, unchecked(docker_client, plan.base_image, plan.profile))
    return build_image(docker_client, render_context(inputs, context), [f"{plan.spec.name}:test"], label="env-check")


def test_env_values_round_trip_and_changing_one_recopies_nothing(tmp_path: Path, built_examples, docker_client) -> None:
    folder = tmp_path / "env-check"
    shutil.copytree(PROJECT_ROOT / "images" / "mlp-classifier", folder)
    data = yaml.safe_load((folder / "image.yaml").read_text())
    write = lambda environment: (folder / "image.yaml").write_text(  # noqa: E731
        yaml.safe_dump({**data, "name": "env-check", "environment": environment}, allow_unicode=True)
    )
    try:
        write(TRICKY)
        first = build_without_smoke(docker_client, folder, tmp_path / "first")
        environment = image_env(docker_client, first.image_id)
        assert {key: environment.get(key) for key in TRICKY} == TRICKY
        write({**TRICKY, "WORKER_COUNT": "3"})
        second = build_without_smoke(docker_client, folder, tmp_path / "second")
        assert image_env(docker_client, second.image_id)["WORKER_COUNT"] == "3"
        env_step = next(
            step for step in second.steps if step.instruction.startswith("ENV ") and "GREETING" in step.instruction
        )
        before = [
            step for step in second.steps if step.number < env_step.number and not step.instruction.startswith("FROM")
        ]
        copies = [step.instruction for step in before if step.instruction.startswith("COPY triton/")]
        assert copies and all(step.cached for step in before), [(s.instruction[:40], s.cached) for s in before]
        assert not env_step.cached
    finally:
        for image in docker_client.images.list(name="env-check"):
            docker_client.images.remove(image.id, force=True)


def test_overridden_image_keeps_the_kits_user_healthcheck_and_entrypoint(
    built_examples: dict[str, ImageOutcome], docker_client
) -> None:
    outcome = built_examples[OVERRIDDEN]
    assert not outcome.error, outcome.error
    assert outcome.report and outcome.report.samples_passed == outcome.report.samples_total == 3
    config = docker_client.images.get(f"{OVERRIDDEN}:1.0.0").attrs["Config"]
    python = CPU.scoring_python_path
    assert config["User"] == "1000:1000"
    assert config["Healthcheck"]["Test"] == ["CMD", python, "-m", "scoring.healthcheck"]
    assert config["Entrypoint"] == [python, "-m", "scoring.supervisor"]
    assert config["Labels"]["com.example.uploads.formats"] == "application/json,text/csv"  # the override's block
    assert config["Labels"]["io.triton-kit.image"] == OVERRIDDEN  # and the kit's, through super()
    status = docker_client.containers.run(
        f"{OVERRIDDEN}:1.0.0", entrypoint=["dpkg-query", "-W", "-f=${Status} ${Version}\n", "libmagic1"],
        network_mode="none", remove=True,
    )  # fmt: skip
    assert status.decode().startswith("install ok installed ")


def test_system_packages_install_with_no_network_in_the_build(built_examples, docker_client) -> None:
    """The rendered context builds from scratch (no cache) with networking off: the .debs and wheels suffice."""
    assert not built_examples[OVERRIDDEN].error
    image_id = ""
    try:
        for event in docker_client.api.build(
            path=str(BUILD_DIR / OVERRIDDEN), network_mode="none", nocache=True, rm=True, forcerm=True, decode=True
        ):
            assert "error" not in event, event
            image_id = event.get("aux", {}).get("ID", image_id)
        assert image_id
    finally:
        if image_id:
            docker_client.images.remove(image_id, force=True)
