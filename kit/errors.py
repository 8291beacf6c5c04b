"""Errors the CLI reports as one clear message and a non-zero exit, without a traceback.

Each stage has its own exit code (README, "Exit codes"), so CI can tell a bad image.yaml from a failed smoke test.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    VALIDATION = 2  # image.yaml, model repository, settings, missing inputs: nothing was built
    BUILD = 3  # docker build (or the base) failed
    SMOKE_TEST = 4  # the image built but failed its smoke test: nothing was tagged
    PUSH = 5  # a registry refused or a digest did not read back
    ENGINE = 6  # no Docker engine answers (or DOCKER_HOST names a remote one)
    USAGE = 64  # the command line itself is wrong (unknown verb or flag)
    INTERNAL = 70  # the last resort: a bug of the kit, never a problem of the folder (the property test's guard)
    INTERRUPTED = 130


class KitError(RuntimeError):
    exit_code: ExitCode = ExitCode.VALIDATION


class BuildFailed(KitError):
    exit_code = ExitCode.BUILD


class SmokeTestFailed(KitError):
    exit_code = ExitCode.SMOKE_TEST


class PushFailed(KitError):
    exit_code = ExitCode.PUSH


class EngineUnavailable(KitError):
    exit_code = ExitCode.ENGINE
