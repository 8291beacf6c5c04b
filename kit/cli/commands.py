"""The verbs of the triton-kit command: each parses nothing, calls the kit and returns (exit code, document)."""

from __future__ import annotations

import argparse
from typing import Any

from kit.errors import ExitCode, KitError
from kit.progress import console
from scoring import settings

# What a verb hands back for --json (one document on stdout; logs go to stderr).
Result = tuple[int, dict[str, Any]]


def command_base(arguments: argparse.Namespace) -> Result:
    from kit.base.cpu_base import build_cpu_base
    from kit.docker.client import DockerImages, client
    from kit.spec.bases import resolve_base

    docker_client = client()
    resolved = resolve_base(arguments.base, DockerImages(docker_client))
    console.print(resolved.describe())
    document: dict[str, Any] = {"profile": resolved.profile.name, "image": resolved.profile.image}
    if resolved.profile.embedded:
        document["image_id"] = build_cpu_base(docker_client).image_id
    return 0, document


def command_list(_: argparse.Namespace) -> Result:
    from kit.pipeline import image_folders

    names = [folder.name for folder in image_folders([])]
    for name in names:
        console.print(name)
    return 0, {"images": names}


def command_validate(arguments: argparse.Namespace) -> Result:
    from kit.pipeline import image_folders
    from kit.validation import validate_folders

    valid = validate_folders(image_folders(arguments.names), arguments.base, resolve_wheels=not arguments.offline)
    images = []
    for item in valid:
        profiles = ", ".join(profile.name for profile in item.profiles)
        console.print(f"validate: {item.spec.name} ({item.folder}) is valid for base {profiles}")
        for name in item.spec.dropped_requirements:
            console.print(f"validate: {item.spec.name}: requirement {name} will be dropped")
        images.append(
            {
                "name": item.spec.name,
                "folder": str(item.folder),
                "profiles": [profile.name for profile in item.profiles],
                "dropped_requirements": list(item.spec.dropped_requirements),
            }
        )
    return 0, {"images": images}


def command_render(arguments: argparse.Namespace) -> Result:
    from kit.base.identity import unchecked
    from kit.context.render import render_context
    from kit.docker.client import client
    from kit.pipeline import image_folders, plan_images, prepare_inputs
    from kit.validation import validate_folders

    validated = validate_folders(image_folders(arguments.names), arguments.base)  # before any engine is asked
    docker_client = client()
    contexts = {}
    for plan in plan_images(docker_client, arguments.names, arguments.base, validated):
        base = unchecked(docker_client, plan.base_image, plan.profile)  # rendering needs no base; building does
        contexts[plan.spec.name] = str(render_context(prepare_inputs(docker_client, plan, base)))
        console.print(f"render: {plan.spec.name} -> {contexts[plan.spec.name]}")
    return 0, {"contexts": contexts}


def command_build(arguments: argparse.Namespace) -> Result:
    from kit.cli.engine_host import require_local_engine
    from kit.docker.client import client
    from kit.pipeline import build_all, image_folders
    from kit.validation import validate_folders

    folders = image_folders(arguments.names)
    validated = validate_folders(folders, arguments.base)  # before any engine is asked
    require_local_engine()
    if not folders:
        command_base(arguments)
        console.print("build: nothing to build: no image folder (with an image.yaml) given or found")
        return 0, {"images": []}
    docker_client = client()
    outcomes = build_all(docker_client, arguments.names, arguments.base, validated)
    code = max((outcome.exit_code for outcome in outcomes), default=ExitCode.OK)
    return code, {"images": [outcome.document() for outcome in outcomes]}


def command_push(arguments: argparse.Namespace) -> Result:
    from kit.docker.client import client
    from kit.pipeline import image_folders
    from kit.release.push import push_images
    from kit.spec.image import load_spec

    specs = [load_spec(folder) for folder in image_folders(arguments.names)]
    requested = [registry for registry in arguments.registry if registry]
    # REGISTRY=... wins; otherwise each image's own `registries:` from image.yaml.
    targets = {spec.name: requested or spec.registries for spec in specs}
    pushed, plan = push_images(client(), targets, overwrite=arguments.overwrite, dry_run=arguments.dry_run)
    for item in pushed:
        console.print(f"{'verified' if item.skipped else 'pushed'} {item.reference} {item.digest}")
    document = [{"reference": item.reference, "digest": item.digest, "skipped": item.skipped} for item in pushed]
    return 0, {"pushed": document, **({"plan": plan} if arguments.dry_run else {})}


def command_manifests(arguments: argparse.Namespace) -> Result:
    from kit.deploy.manifests import write_manifests
    from kit.pipeline import image_folders
    from kit.release.push import check_registry, sboms_on_record
    from kit.spec.image import load_spec

    registry = check_registry(arguments.registry) if arguments.registry else ""
    written = {}
    for folder in image_folders(arguments.names):
        spec = load_spec(folder)
        written[spec.name] = str(write_manifests(spec, registry))
        console.print(f"manifests: {spec.name} -> {written[spec.name]}")
        for subject, artifact in sboms_on_record(spec.name).items():
            console.print(f"manifests: {spec.name}: SBOM attached to {subject} as {artifact}")
    return 0, {"manifests": written}


def command_rehearse(arguments: argparse.Namespace) -> Result:
    from dataclasses import asdict

    from kit.deploy.rehearse import RehearsalPlan, rehearse
    from kit.docker.client import client
    from kit.pipeline import image_folders
    from kit.spec.image import load_spec

    folder = image_folders([arguments.image])[0]
    plan = RehearsalPlan(replicas=arguments.replicas, phase_s=arguments.phase_seconds, rate=arguments.rate)
    report = rehearse(client(), load_spec(folder), folder, plan)
    # A failed request during the rollout is a failed behaviour check of the image, like a failed smoke test.
    code = ExitCode.OK if report.passed else ExitCode.SMOKE_TEST
    return code, {"rehearsal": {**asdict(report), "passed": report.passed}}


def command_run(arguments: argparse.Namespace) -> Result:
    from kit.docker.client import client
    from kit.pipeline import image_folders
    from kit.run.local_run import run_locally
    from kit.spec.image import load_spec
    from kit.verify.model_mounts import direct_volumes

    folder = image_folders([arguments.image])[0]
    spec = load_spec(folder)
    port = arguments.port or settings.default("SERVER_PORT")
    run_locally(client(), f"{spec.name}:{spec.version}", port, direct_volumes(folder, spec))
    return 0, {"image": f"{spec.name}:{spec.version}"}


def command_clean(_: argparse.Namespace) -> Result:
    from kit.docker.clean import clean
    from kit.docker.client import client

    clean(client())
    return 0, {}


def command_init(arguments: argparse.Namespace) -> Result:
    from pathlib import Path

    folder = Path(arguments.folder)
    if arguments.model is None:
        from kit.adopt import adopt

        adoption = adopt(folder, arguments.name)
        console.print(f"init: wrote {folder / 'image.yaml'} beside your files")
        for line in adoption.inferred:
            console.print(f"  inferred {line}", markup=False, highlight=False)
        for line in adoption.to_fill_in:
            console.print(f"  left to fill in: {line}", markup=False, highlight=False)
        console.print(f"next: triton-kit validate {folder}, then triton-kit build {folder}", markup=False)
        return 0, {
            "folder": str(folder),
            "wrote": str(folder / "image.yaml"),
            "inferred": adoption.inferred,
            "to_fill_in": adoption.to_fill_in,
        }
    from kit.scaffold import scaffold

    folder = scaffold(folder, Path(arguments.model), arguments.name)
    console.print(f"init: wrote {folder}/ (image.yaml, score.py, triton/, samples/); next: triton-kit build {folder}")
    return 0, {"folder": str(folder)}


def command_bench(arguments: argparse.Namespace) -> Result:
    try:
        from bench.run import main as bench_main
    except ImportError:
        raise KitError(
            "bench: the benchmark lives in the kit's checkout (bench/), not in the installed package; run "
            "`make bench` there"
        ) from None
    code = bench_main(arguments.bench_arguments)
    return int(code or 0), {}
