"""The demo's report: the systems measured, PGR and cost saved, and the files written."""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.report._chart import plot
from workbench.report._figures import SystemResult
from workbench.report._tables import drafts_summary, markdown, table

__all__ = ["Report"]


@dataclass
class Report:
    """The demo's measurements of every system, and the quality/cost figures drawn from them."""

    dataset: str
    n_tickets: int
    seed: int
    systems: list[SystemResult]
    sweep: list[SystemResult] = field(default_factory=list)
    specialists: list[dict[str, Any]] = field(default_factory=list)
    # The latency budget report of the composition's slowest request.
    slowest_request: str = ""
    # The LLM desk's drafter: share of tickets drafted, cost and latency (workbench.demo).
    drafts: dict[str, Any] = field(default_factory=dict)

    def system(self, name: str) -> SystemResult:
        return next(s for s in self.systems if s.name == name)

    @property
    def composed(self) -> SystemResult:
        return next(s for s in self.systems if s.kind == "composed")

    def pgr(self, result: SystemResult | None = None) -> float | None:
        """Performance gap recovered: (Q_composed - Q_cheap) / (Q_strong - Q_cheap)."""
        cheap, strong = self.system("cheap"), self.system("strong")
        gap = strong.accuracy - cheap.accuracy
        if abs(gap) < 1e-12:
            return None
        return ((result or self.composed).accuracy - cheap.accuracy) / gap

    def cost_saved_vs_strong(self) -> float:
        strong = self.system("strong").cost_usd
        return 1.0 - self.composed.cost_usd / strong if strong else 0.0

    def apgr(self) -> float | None:
        """Average PGR over the sweep, by area under PGR against cost share of always-strong."""
        strong_cost = self.system("strong").cost_usd
        points = sorted(
            (s.cost_usd / strong_cost, self.pgr(s) or 0.0) for s in self.sweep if strong_cost
        )
        if len(points) < 2:
            return None
        area = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(points))
        width = points[-1][0] - points[0][0]
        return area / width if width else None

    def as_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "n_tickets": self.n_tickets,
            "seed": self.seed,
            "systems": [asdict(s) for s in self.systems],
            "pgr": self.pgr(),
            "cost_saved_vs_strong": self.cost_saved_vs_strong(),
            "sweep": [asdict(s) for s in self.sweep],
            "apgr": self.apgr(),
            "specialists": self.specialists,
            "drafts": self.drafts,
        }

    def write(self, out: Path) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "report.json", out / "report.md", out / "report.png"]
        paths[0].write_text(json.dumps(self.as_json(), indent=2) + "\n", encoding="utf-8")
        paths[1].write_text(self.markdown(), encoding="utf-8")
        self.plot(paths[2])
        return paths

    def table(self) -> str:
        """The report as the demo prints it."""
        return table(self)

    def markdown(self) -> str:
        """report.md."""
        return markdown(self)

    def drafts_summary(self) -> list[str]:
        """The LLM desk's drafter in three lines (empty when the demo skipped it)."""
        return drafts_summary(self)

    def plot(self, path: Path) -> None:
        """report.png: accuracy against declared cost per ticket, with the sweep's curve."""
        plot(self, path)
