"""`python -m bench.full_path` from the repository's root: the command of cli.py."""

from __future__ import annotations

import sys

from bench.full_path.config import ROOT

if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))  # devstack, when run as a command

from bench.full_path.cli import main

if __name__ == "__main__":
    sys.exit(main())
