"""Errors the CLI reports as one clear message and a non-zero exit, without a traceback."""


class KitError(RuntimeError):
    pass
