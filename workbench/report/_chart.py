"""The report as a chart: accuracy against declared cost per ticket (report.png)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.report._report import Report

__all__ = ["plot"]


def plot(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    if report.sweep:
        points = sorted((s.cost_per_ticket_usd, s.accuracy, s.threshold) for s in report.sweep)
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            "-o",
            color="#999999",
            markersize=3,
            label="composition, threshold sweep",
        )
        for x, y, t in points:
            axes.annotate(f"{t:g}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    for s in report.systems:
        marker = "*" if s.kind == "composed" else "o"
        axes.plot(
            s.cost_per_ticket_usd,
            s.accuracy,
            marker,
            markersize=12 if marker == "*" else 8,
            label=f"{s.name} ({s.accuracy:.3f})",
        )
    axes.set_xlabel("declared cost per ticket (USD)")
    axes.set_ylabel("intent accuracy")
    axes.set_title(f"{report.dataset}: cost vs accuracy, {report.n_tickets} tickets")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
