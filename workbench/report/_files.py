"""The drafts report's file: drafts.json, beside `tutti eval`'s report in the demo's folder."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.report._report import Report

__all__ = ["write"]


def write(report: Report, out: Path) -> Path:
    """Write the report into `out` (made if missing) as drafts.json; the path written."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "drafts.json"
    path.write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
    return path
