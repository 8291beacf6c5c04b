#!/usr/bin/env python3
"""triton-kit CLI: thin wiring over kit/ (parse arguments, call the kit, print the report)."""

from __future__ import annotations

import argparse
import os
import sys

from docker.errors import DockerException

from kit import PROJECT_ROOT
from kit.bases import ResolvedBase, resolve_base
from kit.docker_client import DockerImages, client
from kit.errors import KitError
from kit.progress import console

IMAGES_DIR = PROJECT_ROOT / "images"


def prepare_base(requested: str) -> ResolvedBase:
    docker_client = client()
    resolved = resolve_base(requested, DockerImages(docker_client))
    console.print(resolved.describe())
    if resolved.profile.embedded:
        from kit.base_image import build_cpu_base

        build_cpu_base(docker_client)
    return resolved


def image_folders() -> list[str]:
    return sorted(path.parent.name for path in IMAGES_DIR.glob("*/image.yaml"))


def command_base(arguments: argparse.Namespace) -> int:
    prepare_base(arguments.base)
    return 0


def command_list(_: argparse.Namespace) -> int:
    for name in image_folders():
        console.print(name)
    return 0


def command_build(arguments: argparse.Namespace) -> int:
    prepare_base(arguments.base)
    names = image_folders()
    if not names:
        console.print(f"build: nothing to build: no {IMAGES_DIR.relative_to(PROJECT_ROOT)}/<name>/image.yaml yet")
        return 0
    console.print(f"build: image builds are not implemented yet; found {', '.join(names)}")
    return 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="build.py", description=__doc__)
    root.add_argument("--base", default=os.environ.get("BASE", "auto"), help="auto (default), cpu or ngc-20.09")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("base", help="resolve the base profile and build the embedded cpu base if it is used")
    commands.add_parser("list", help="list image folders under images/")
    build = commands.add_parser("build", help="prepare the base, then build and test images")
    build.add_argument("names", nargs="*", help="image folders to build (default: all under images/)")
    return root


HANDLERS = {"base": command_base, "list": command_list, "build": command_build}


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        return HANDLERS[arguments.command](arguments)
    except KitError as error:
        console.print(f"error: {error}")
        return 2
    except DockerException as error:
        console.print(f"error: the Docker engine did not answer ({error}); run `make engine` first")
        return 2


if __name__ == "__main__":
    sys.exit(main())
