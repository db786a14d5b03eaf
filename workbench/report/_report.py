"""The demo's report: the systems measured, and PGR and cost saved drawn from them."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.report._figures import SystemResult

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
