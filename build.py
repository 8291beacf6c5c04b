#!/usr/bin/env python3
"""The checkout's entry to the triton-kit command (same verbs, flags, --json and exit codes as `triton-kit`)."""

import sys

from kit.cli.main import main

if __name__ == "__main__":
    sys.exit(main(prog="build.py"))
