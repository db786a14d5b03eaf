"""The report's files: report.json, report.md and report.png in one folder."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.report._chart import plot
from workbench.report._report import Report
from workbench.report._tables import markdown

__all__ = ["write"]


def write(report: Report, out: Path) -> list[Path]:
    """Write the report into `out` (made if missing); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "report.png"]
    paths[0].write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(report), encoding="utf-8")
    plot(report, paths[2])
    return paths
