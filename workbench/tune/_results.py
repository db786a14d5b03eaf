"""What `tutti tune` found, and what it prints and writes: the summary, tune.json and frontier.png."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from workbench.evaluation import Figures
from workbench.tune._knobs import Knob
from workbench.tune._search import Point, Target, frontier

__all__ = ["Tuning", "frontier_lines", "knob_lines", "summary", "write_results"]


@dataclass(frozen=True)
class Tuning:
    knobs: tuple[Knob, ...]
    points: tuple[Point, ...]
    chosen: Point | None
    target: Target
    baselines: tuple[Figures, ...]
    live_calls: int
    record_s: float
    offline_s: float


def summary(tuning: Tuning) -> str:
    lines = [
        f"{len(tuning.points)} settings of {len(tuning.knobs)} knobs, replayed in"
        f" {tuning.offline_s:.1f} s ({len(tuning.points) / max(tuning.offline_s, 1e-9):.0f}/s)"
        f" after a recorded pass of {tuning.record_s:.1f} s ({tuning.live_calls} live calls)"
    ]
    for b in tuning.baselines:
        lines.append(
            f"  baseline {b.name:<20} accuracy {b.accuracy:.3f}  ${b.cost_per_item_usd:.6f}/item"
        )
    lines.append(f"target: {tuning.target.describe()}")
    if tuning.chosen is not None:
        c = tuning.chosen
        lines.append(f"chosen: accuracy {c.accuracy:.3f}, ${c.cost_per_item_usd:.6f}/item")
        lines += knob_lines(tuning)
    lines.append("frontier (cost per item, accuracy):")
    lines += frontier_lines(tuning)
    return "\n".join(lines)


def knob_lines(tuning: Tuning) -> list[str]:
    """Each knob's value in the file and the one chosen (none without a choice)."""
    if tuning.chosen is None:
        return []
    chosen = tuning.chosen.values
    return [f"  {k.name:<40} {k.value:g} -> {chosen[k]:g}" for k in tuning.knobs]


def frontier_lines(tuning: Tuning) -> list[str]:
    """The frontier, cheapest first: cost per item, accuracy, the knobs' values."""
    lines = []
    for p in frontier(tuning.points):
        values = ", ".join(f"{v:g}" for v in p.values.values())
        lines.append(f"  ${p.cost_per_item_usd:.6f}  {p.accuracy:.3f}  [{values}]")
    return lines


def write_results(tuning: Tuning, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)

    def point(p: Point) -> dict[str, object]:
        return {
            "values": {k.name: v for k, v in p.values.items()},
            "accuracy": p.accuracy,
            "cost_per_item_usd": p.cost_per_item_usd,
            "errors": p.errors,
        }

    data = {
        "knobs": [{"name": k.name, "line": k.line, "value": k.value} for k in tuning.knobs],
        "target": tuning.target.describe(),
        "chosen": point(tuning.chosen) if tuning.chosen else None,
        "frontier": [point(p) for p in frontier(tuning.points)],
        "settings": [point(p) for p in tuning.points],
        "baselines": [
            {"name": b.name, "accuracy": b.accuracy, "cost_per_item_usd": b.cost_per_item_usd}
            for b in tuning.baselines
        ],
        "live_calls": tuning.live_calls,
        "record_s": tuning.record_s,
        "offline_s": tuning.offline_s,
    }
    (folder / "tune.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _chart(tuning, folder / "frontier.png")


def _chart(tuning: Tuning, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    axes.plot(
        [p.cost_per_item_usd for p in tuning.points],
        [p.accuracy for p in tuning.points],
        ".",
        color="#bbbbbb",
        markersize=3,
        label="settings",
    )
    best = frontier(tuning.points)
    axes.plot(
        [p.cost_per_item_usd for p in best],
        [p.accuracy for p in best],
        "-o",
        markersize=3,
        label="frontier",
    )
    for b in tuning.baselines:
        axes.plot(b.cost_per_item_usd, b.accuracy, "s", markersize=8, label=f"{b.name} alone")
    if tuning.chosen is not None:
        axes.plot(
            tuning.chosen.cost_per_item_usd,
            tuning.chosen.accuracy,
            "*",
            markersize=14,
            label="chosen",
        )
    axes.set_xlabel("cost per item (USD)")
    axes.set_ylabel("accuracy")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
