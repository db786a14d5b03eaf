"""`python -m tutti`: the same as the `tutti` command."""

from __future__ import annotations

import sys

from tutti.cli import main

sys.exit(main())
