"""The LLM desk's report: the drafts system measured, and the drafter's figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.report._figures import SystemResult

__all__ = ["Report"]


@dataclass
class Report:
    """The LLM desk over the demo's tickets (the support desk's own figures are `tutti eval`'s)."""

    dataset: str
    n_tickets: int
    seed: int
    systems: list[SystemResult]
    # The LLM desk's drafter: share of tickets drafted, cost and latency (workbench.demo).
    drafts: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "n_tickets": self.n_tickets,
            "seed": self.seed,
            "systems": [asdict(s) for s in self.systems],
            "drafts": self.drafts,
        }
