"""`python -m workbench`: the same as the `tutti` command."""

from __future__ import annotations

import sys

from workbench.cli import main

sys.exit(main())
