"""triton-kit: turn a folder (Triton model repository + Azure ML score.py + image.yaml) into a tested scoring image.

Exit codes (docs/command.md): 0 ok, 2 validation, 3 build, 4 smoke test, 5 push, 6 engine, 64 usage, 70 internal
error of the kit (a bug: please report it), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from typing import Any, NoReturn

from kit import __version__
from kit.errors import ExitCode, KitError
from kit.progress import configure_console, console

INTERNAL_ERROR_LOG = "triton-kit-error.log"


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as UsageError (exit 64, one JSON document with --json)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}; see `{self.prog.split()[0]} --help`")


def add_names(command: argparse.ArgumentParser) -> None:
    command.add_argument("names", nargs="*", help="image folder paths or names under images/ (default: all)")


def parser(prog: str = "triton-kit") -> argparse.ArgumentParser:
    root = Parser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root.add_argument("--version", action="version", version=f"triton-kit {__version__}")
    root.add_argument("--base", default=os.environ.get("BASE", "auto"), help="auto (default) or a profile name")
    root.add_argument("--json", action="store_true", help="print one result document on stdout; logs on stderr")
    root.add_argument(
        "--progress", choices=("auto", "plain"), default=os.environ.get("PROGRESS", "auto"),
        help="plain: no colours or terminal control codes (CI logs); NO_COLOR is honoured either way",
    )  # fmt: skip
    root.add_argument("--output", help="folder for rendered contexts and records (default: ./build)")
    commands = root.add_subparsers(dest="command", required=True, parser_class=Parser)
    commands.add_parser("base", help="resolve the base profile and build the embedded cpu base if it is used")
    commands.add_parser("list", help="list image folders under images/ (or the current folder)")
    validate = commands.add_parser("validate", help="check image folders without a Docker engine")
    add_names(validate)
    validate.add_argument("--offline", action="store_true", help="skip resolving requirement pins on PyPI")
    for name, text in (("render", "write build/<name>/ for inspection"), ("build", "build and smoke-test images")):
        add_names(commands.add_parser(name, help=text))
    push = commands.add_parser("push", help="push tested images to one or more registries and verify digests")
    add_names(push)
    push.add_argument("--registry", action="append", default=[], help="host[:port][/namespace]; repeatable")
    push.add_argument("--dry-run", action="store_true", help="show, per registry, the credential source; push nothing")
    push.add_argument("--overwrite", action="store_true", help="replace a tag that names another image in a registry")
    manifests = commands.add_parser("manifests", help="write build/<name>/deploy/ (Kubernetes, KServe, Azure ML)")
    add_names(manifests)
    manifests.add_argument("--registry", default=os.environ.get("REGISTRY", ""), help="host[:port][/namespace]")
    rehearse = commands.add_parser("rehearse", help="rolling replacement of replicas behind HAProxy under load")
    rehearse.add_argument("image")
    rehearse.add_argument("--replicas", type=int, default=3)
    rehearse.add_argument("--phase-seconds", type=float, default=15.0, help="load before and after the rollout")
    rehearse.add_argument("--rate", type=float, default=40.0, help="requests per second, steady")
    run = commands.add_parser("run", help="run one tested image locally until Ctrl-C")
    run.add_argument("image")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "0") or 0))
    commands.add_parser("clean", help="remove the kit's containers, images and build/ folders")
    init = commands.add_parser("init", help="adopt an Azure ML project folder, or scaffold one from an ONNX model")
    init.add_argument(
        "folder", help="an existing project folder (image.yaml is written beside your files) or a new one"
    )
    init.add_argument("--model", help="path of a model.onnx to scaffold a new folder from")
    init.add_argument("--name", help="Docker repository name (default: from the folder name)")
    bench = commands.add_parser("bench", help="the checkout's benchmark (make bench); arguments go to bench.run")
    bench.add_argument("bench_arguments", nargs=argparse.REMAINDER)
    return root


def handlers() -> dict[str, Any]:
    from kit.cli import commands

    return {name: getattr(commands, f"command_{name}") for name in (
        "base", "list", "validate", "render", "build", "push", "manifests", "rehearse", "run", "clean", "init", "bench"
    )}  # fmt: skip


def internal_error(error: BaseException) -> str:
    """The last resort: the traceback goes to a log file (never to a client or the JSON document)."""
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), INTERNAL_ERROR_LOG)
    try:
        with open(path, "a", encoding="utf-8") as log:
            traceback.print_exception(error, file=log)
        where = f"details in {path}"
    except OSError:
        where = "no log could be written"
    return (
        f"internal error of triton-kit ({type(error).__name__}); this is a bug of the kit, not of your folder: "
        f"please report it with the command you ran ({where})"
    )


def main(argv: list[str] | None = None, prog: str = "triton-kit") -> int:
    wants_json = "--json" in (sys.argv[1:] if argv is None else argv)
    command = "?"
    document: dict[str, Any] = {}
    try:
        arguments = parser(prog).parse_args(argv)
        command = arguments.command
        if arguments.output:
            from kit import paths

            os.environ[paths.OUTPUT_ENV] = os.path.abspath(arguments.output)
            paths.BUILD_DIR = paths.output_dir()  # before any stage module reads it
        configure_console(plain=arguments.progress == "plain", to_stderr=arguments.json)
        code, document = run_command(arguments)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        code, document = ExitCode.USAGE, {"error": str(error)}
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    except SystemExit as exit_request:  # --help and --version print and exit 0
        if exit_request.code not in (0, None):
            raise
        return 0
    except BaseException as error:
        message = internal_error(error)
        print(f"error: {message}", file=sys.stderr)
        code, document = ExitCode.INTERNAL, {"error": message}
    if wants_json:
        print(json.dumps({"command": command, "exit_code": int(code), **document}, indent=2, ensure_ascii=True))
    return int(code)


def run_command(arguments: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    from jinja2 import TemplateError

    from kit.docker.sdk import DockerException

    try:
        return handlers()[arguments.command](arguments)
    except KitError as error:
        console.print(f"error: {error}", markup=False, highlight=False)
        return error.exit_code, {"error": str(error)}
    except DockerException as error:
        message = f"the Docker engine did not answer ({error}); start one (`make engine` in the checkout) first"
        console.print(f"error: {message}", markup=False, highlight=False)
        return ExitCode.ENGINE, {"error": message}
    except TemplateError as error:
        message = (
            f"a Dockerfile template failed to render ({type(error).__name__}: {error}); fix the image's "
            "dockerfile_template (only the kit's documented variables are defined)"
        )
        console.print(f"error: {message}", markup=False, highlight=False)
        return ExitCode.VALIDATION, {"error": message}


if __name__ == "__main__":
    sys.exit(main())
