"""`python -m kit`: the triton-kit command."""

import sys

from kit.cli.main import main

sys.exit(main())
