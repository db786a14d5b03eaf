"""The `tutti` command line: `main` runs it (the console script), `build_parser` describes it."""

from __future__ import annotations

from workbench.cli._main import main
from workbench.cli._parser import build_parser

__all__ = ["build_parser", "main"]
