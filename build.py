#!/usr/bin/env python3
"""triton-kit CLI: thin wiring over kit/ (parse arguments, call the kit, print the report)."""

from __future__ import annotations

import argparse
import os
import sys

from docker.errors import DockerException

from kit.errors import KitError
from kit.progress import console


def command_base(arguments: argparse.Namespace) -> int:
    from kit.base.cpu_base import build_cpu_base
    from kit.docker.client import DockerImages, client
    from kit.spec.bases import resolve_base

    docker_client = client()
    resolved = resolve_base(arguments.base, DockerImages(docker_client))
    console.print(resolved.describe())
    if resolved.profile.embedded:
        build_cpu_base(docker_client)
    return 0


def command_list(_: argparse.Namespace) -> int:
    from kit.pipeline import image_folders

    for folder in image_folders([]):
        console.print(folder.name)
    return 0


def command_render(arguments: argparse.Namespace) -> int:
    from kit.context.render import render_context
    from kit.docker.client import client
    from kit.pipeline import plan_images, prepare_inputs

    docker_client = client()
    for plan in plan_images(docker_client, arguments.names, arguments.base):
        try:
            digest = str(docker_client.images.get(plan.base_image).id)
        except DockerException:
            digest = "unavailable"  # rendering needs no base; building does
        console.print(f"render: {plan.spec.name} -> {render_context(prepare_inputs(plan, digest))}")
    return 0


def command_build(arguments: argparse.Namespace) -> int:
    from kit.docker.client import client
    from kit.pipeline import build_all, image_folders

    docker_client = client()
    if not arguments.names and not image_folders([]):
        command_base(arguments)
        console.print("build: nothing to build: no images/<name>/image.yaml yet")
        return 0
    outcomes = build_all(docker_client, arguments.names, arguments.base)
    return 1 if any(outcome.error for outcome in outcomes) else 0


def command_push(arguments: argparse.Namespace) -> int:
    from kit.docker.client import client
    from kit.pipeline import image_folders
    from kit.release.push import push_images
    from kit.spec.image import load_spec

    specs = [load_spec(folder) for folder in image_folders(arguments.names)]
    requested = [registry for registry in arguments.registry if registry]
    # REGISTRY=... wins; otherwise each image's own `registries:` from image.yaml.
    targets = {spec.name: requested or spec.registries for spec in specs}
    for pushed in push_images(client(), targets):
        console.print(f"pushed {pushed.reference} {pushed.digest}")
    return 0


def command_run(arguments: argparse.Namespace) -> int:
    from kit.docker.client import client
    from kit.docker.containers import free_port
    from kit.pipeline import image_folders
    from kit.release.local_run import run_locally
    from kit.spec.image import load_spec

    spec = load_spec(image_folders([arguments.image])[0])
    run_locally(client(), f"{spec.name}:{spec.version}", arguments.port or 5001, arguments.triton_port or free_port())
    return 0


def command_clean(_: argparse.Namespace) -> int:
    from kit.docker.client import client
    from kit.release.clean import clean

    clean(client())
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="build.py", description=__doc__)
    root.add_argument("--base", default=os.environ.get("BASE", "auto"), help="auto (default), cpu or ngc-20.09")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("base", help="resolve the base profile and build the embedded cpu base if it is used")
    commands.add_parser("list", help="list image folders under images/")
    for name, text in (("render", "write build/<name>/ for inspection"), ("build", "build and smoke-test images")):
        command = commands.add_parser(name, help=text)
        command.add_argument("names", nargs="*", help="image names under images/ or image folder paths (default: all)")
    push = commands.add_parser("push", help="push tested images to one or more registries and verify digests")
    push.add_argument("names", nargs="*", help="image names (default: all)")
    push.add_argument("--registry", action="append", default=[], help="host[:port][/namespace]; repeatable")
    run = commands.add_parser("run", help="run one tested image locally until Ctrl-C")
    run.add_argument("image")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0")))
    run.add_argument("--triton-port", type=int, default=0)
    commands.add_parser("clean", help="remove the kit's containers, images and build/ folders")
    return root


HANDLERS = {
    "base": command_base,
    "list": command_list,
    "render": command_render,
    "build": command_build,
    "push": command_push,
    "run": command_run,
    "clean": command_clean,
}


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        return HANDLERS[arguments.command](arguments)
    except KitError as error:
        console.print(f"error: {error}", markup=False)
        return 2
    except DockerException as error:
        console.print(f"error: the Docker engine did not answer ({error}); run `make engine` first", markup=False)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
