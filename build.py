#!/usr/bin/env python3
"""triton-kit CLI: thin wiring over kit/ (parse arguments, call the kit, print the report)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from docker.errors import DockerException

from kit.errors import ExitCode, KitError
from kit.progress import configure_console, console
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


def command_render(arguments: argparse.Namespace) -> Result:
    from kit.context.render import render_context
    from kit.docker.client import client
    from kit.pipeline import plan_images, prepare_inputs

    docker_client = client()
    contexts = {}
    for plan in plan_images(docker_client, arguments.names, arguments.base):
        try:
            digest = str(docker_client.images.get(plan.base_image).id)
        except DockerException:
            digest = "unavailable"  # rendering needs no base; building does
        contexts[plan.spec.name] = str(render_context(prepare_inputs(docker_client, plan, digest)))
        console.print(f"render: {plan.spec.name} -> {contexts[plan.spec.name]}")
    return 0, {"contexts": contexts}


def command_build(arguments: argparse.Namespace) -> Result:
    from kit.docker.client import client
    from kit.pipeline import build_all, image_folders

    docker_client = client()
    if not arguments.names and not image_folders([]):
        command_base(arguments)
        console.print("build: nothing to build: no images/<name>/image.yaml yet")
        return 0, {"images": []}
    outcomes = build_all(docker_client, arguments.names, arguments.base)
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
    from kit.release.local_run import run_locally
    from kit.spec.image import load_spec

    spec = load_spec(image_folders([arguments.image])[0])
    run_locally(client(), f"{spec.name}:{spec.version}", arguments.port or settings.default("SERVER_PORT"))
    return 0, {"image": f"{spec.name}:{spec.version}"}


def command_clean(_: argparse.Namespace) -> Result:
    from kit.docker.client import client
    from kit.release.clean import clean

    clean(client())
    return 0, {}


def command_init(arguments: argparse.Namespace) -> Result:
    from pathlib import Path

    from kit.scaffold import scaffold

    folder = scaffold(Path(arguments.folder), Path(arguments.model), arguments.name)
    console.print(f"init: wrote {folder}/ (image.yaml, score.py, triton/, samples/); next: make build IMAGES={folder}")
    return 0, {"folder": str(folder)}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="build.py", description=__doc__)
    root.add_argument("--base", default=os.environ.get("BASE", "auto"), help="auto (default) or a profile name")
    root.add_argument("--json", action="store_true", help="print one result document on stdout; logs on stderr")
    root.add_argument(
        "--progress", choices=("auto", "plain"), default=os.environ.get("PROGRESS", "auto"),
        help="plain: no colours or terminal control codes (CI logs); NO_COLOR is honoured either way",
    )  # fmt: skip
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("base", help="resolve the base profile and build the embedded cpu base if it is used")
    commands.add_parser("list", help="list image folders under images/")
    for name, text in (("render", "write build/<name>/ for inspection"), ("build", "build and smoke-test images")):
        command = commands.add_parser(name, help=text)
        command.add_argument("names", nargs="*", help="image names under images/ or image folder paths (default: all)")
    push = commands.add_parser("push", help="push tested images to one or more registries and verify digests")
    push.add_argument("names", nargs="*", help="image names (default: all)")
    push.add_argument("--registry", action="append", default=[], help="host[:port][/namespace]; repeatable")
    push.add_argument("--dry-run", action="store_true", help="show, per registry, the credential source; push nothing")
    push.add_argument("--overwrite", action="store_true", help="replace a tag that names another image in a registry")
    manifests = commands.add_parser("manifests", help="write build/<name>/deploy/ (Kubernetes, KServe, Azure ML)")
    manifests.add_argument("names", nargs="*", help="image names (default: all)")
    manifests.add_argument("--registry", default=os.environ.get("REGISTRY", ""), help="host[:port][/namespace]")
    rehearse = commands.add_parser("rehearse", help="rolling replacement of replicas behind HAProxy under load")
    rehearse.add_argument("image")
    rehearse.add_argument("--replicas", type=int, default=3)
    rehearse.add_argument("--phase-seconds", type=float, default=15.0, help="load before and after the rollout")
    rehearse.add_argument("--rate", type=float, default=40.0, help="requests per second, steady")
    run = commands.add_parser("run", help="run one tested image locally until Ctrl-C")
    run.add_argument("image")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0")))
    commands.add_parser("clean", help="remove the kit's containers, images and build/ folders")
    init = commands.add_parser("init", help="scaffold a new image folder from an ONNX model")
    init.add_argument("folder", help="the new image folder (must not exist or be empty)")
    init.add_argument("--model", required=True, help="path of the model.onnx to serve")
    init.add_argument("--name", help="Docker repository name (default: from the folder name)")
    return root


HANDLERS = {
    "base": command_base,
    "list": command_list,
    "render": command_render,
    "build": command_build,
    "push": command_push,
    "manifests": command_manifests,
    "rehearse": command_rehearse,
    "run": command_run,
    "clean": command_clean,
    "init": command_init,
}


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    configure_console(plain=arguments.progress == "plain", to_stderr=arguments.json)
    document: dict[str, Any] = {}
    try:
        code, document = HANDLERS[arguments.command](arguments)
    except KitError as error:
        console.print(f"error: {error}")
        code, document = error.exit_code, {"error": str(error)}
    except DockerException as error:
        message = f"the Docker engine did not answer ({error}); run `make engine` first"
        console.print(f"error: {message}")
        code, document = ExitCode.ENGINE, {"error": message}
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    if arguments.json:
        print(json.dumps({"command": arguments.command, "exit_code": int(code), **document}, indent=2))
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
