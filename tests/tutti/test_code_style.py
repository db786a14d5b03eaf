"""The house style holds: ruff lint and format, and mypy strict on hand-written packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGES = ["tutti", "router_service", "specialist_service", "merger_service", "protos/generate.py"]


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_ruff_finds_nothing_to_fix() -> None:
    lint = _run(str(BIN / "ruff"), "check", *PACKAGES)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    form = _run(str(BIN / "ruff"), "format", "--check", *PACKAGES)
    assert form.returncode == 0, form.stdout + form.stderr


def test_mypy_strict_passes_on_hand_written_packages() -> None:
    result = _run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr
