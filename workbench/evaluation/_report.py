"""`tutti eval`'s report: a table on the terminal, report.md, report.json and a chart."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.evaluation._figures import Comparison, Figures

__all__ = ["REPORT_KEYS", "EvalReport", "table", "write_report"]

# The keys of report.json, documented once here and in `tutti eval --help`.
REPORT_KEYS = {
    "composition": "the composition's name",
    "data": "the labelled file, and how many items it has",
    "label": "the output field compared with the file's label",
    "systems": "per system: name, kind (composition | baseline), items, accuracy, macro_f1, "
    "cost_per_item_usd, total_cost_usd, p50_ms, p95_ms, errors, reach (stage -> share)",
    "comparison": "cheapest and strongest baseline, pgr, cost_saved, routing "
    "(hard_sent_cheap = under-routing, easy_sent_dear = over-routing), or null",
}


@dataclass(frozen=True)
class EvalReport:
    composition: str
    data: str
    items: int
    label: str
    systems: tuple[Figures, ...]
    comparison: Comparison | None

    def to_json(self) -> dict[str, Any]:
        return {
            "composition": self.composition,
            "data": {"file": self.data, "items": self.items},
            "label": self.label,
            "systems": [dataclasses.asdict(s) for s in self.systems],
            "comparison": dataclasses.asdict(self.comparison) if self.comparison else None,
        }


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def table(report: EvalReport) -> str:
    """The systems side by side, then what the composition gains, as plain text."""
    head = f"{'system':<28} {'accuracy':>8} {'macro-F1':>8} {'$/item':>10} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}"
    lines = [head, "-" * len(head)]
    for s in report.systems:
        name = f"{s.name} *" if s.kind == "composition" else s.name
        lines.append(
            f"{name:<28} {s.accuracy:>8.3f} {s.macro_f1:>8.3f} {s.cost_per_item_usd:>10.5f}"
            f" {s.p50_ms:>8.1f} {s.p95_ms:>8.1f} {s.errors:>6}"
        )
    c = report.comparison
    if c is not None:
        lines.append("")
        lines.append(
            f"against {c.cheapest} (cheapest) and {c.strongest} (strongest): "
            f"PGR {'n/a' if c.pgr is None else f'{c.pgr:.3f}'}, cost saved {_share(c.cost_saved)}"
        )
        if c.routing is not None:
            r = c.routing
            lines.append(
                f"routing: {r.hard_sent_cheap} hard items sent cheap (under-routing), "
                f"{r.easy_sent_dear} easy items sent dear (over-routing); "
                f"{r.hard_sent_dear} hard sent dear, {r.easy_sent_cheap} easy sent cheap"
            )
    composed = next((s for s in report.systems if s.kind == "composition"), None)
    if composed is not None and composed.reach:
        reach = ", ".join(f"{stage} {share:.0%}" for stage, share in composed.reach.items())
        lines.append(f"stages reached by {composed.name}: {reach}")
    return "\n".join(lines)


def _markdown(report: EvalReport, chart: str) -> str:
    rows = [
        "| system | kind | accuracy | macro-F1 | $/item | total $ | p50 ms | p95 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in report.systems:
        rows.append(
            f"| {s.name} | {s.kind} | {s.accuracy:.3f} | {s.macro_f1:.3f} | "
            f"{s.cost_per_item_usd:.5f} | {s.total_cost_usd:.2f} | {s.p50_ms:.1f} | "
            f"{s.p95_ms:.1f} | {s.errors} |"
        )
    text = [
        f"# {report.composition} on {Path(report.data).name}",
        "",
        f"{report.items} items; the label is the output's `{report.label}`.",
        "",
        *rows,
        "",
        "```",
        table(report),
        "```",
        "",
        f"![cost against accuracy]({chart})",
        "",
    ]
    return "\n".join(text)


def _chart(report: EvalReport, path: Path, frontier: Sequence[tuple[float, float]] = ()) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    if frontier:
        points = sorted(frontier)
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            "-",
            color="#999999",
            label="tuned settings (frontier)",
        )
    for s in report.systems:
        star = s.kind == "composition"
        axes.plot(
            s.cost_per_item_usd,
            s.accuracy,
            "*" if star else "o",
            markersize=12 if star else 8,
            label=f"{s.name} ({s.accuracy:.3f})",
        )
    axes.set_xlabel("cost per item (USD)")
    axes.set_ylabel("accuracy")
    axes.set_title(f"{report.composition}: cost against accuracy, {report.items} items")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write_report(report: EvalReport, folder: Path) -> list[Path]:
    """report.md, report.json and report.png in `folder`; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    md, js, png = folder / "report.md", folder / "report.json", folder / "report.png"
    js.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    _chart(report, png)
    md.write_text(_markdown(report, png.name), encoding="utf-8")
    return [md, js, png]
