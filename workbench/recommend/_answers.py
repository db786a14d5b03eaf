"""What `tutti recommend` asks about the task, and the budgets and thresholds the answers set."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CASCADE_BELOW",
    "COST_BUDGET_USD",
    "ESCALATE_BELOW",
    "LATENCY_BUDGET_MS",
    "Answers",
    "Cost",
    "Latency",
    "Pattern",
    "Structure",
    "fanout_wait_ms",
]


class Structure(StrEnum):
    STAGES = "stages"
    VARYING = "varying"
    PERSPECTIVES = "perspectives"
    SINGLE = "single"


class Latency(StrEnum):
    INTERACTIVE = "interactive"
    SECONDS = "seconds"
    BATCH = "batch"


class Cost(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Pattern(StrEnum):
    SINGLE_MODEL = "single model"
    SEQUENTIAL = "sequential"
    ROUTER = "router"
    CASCADE = "cascade"
    FANOUT = "fan-out"


LATENCY_BUDGET_MS = {Latency.INTERACTIVE: 800, Latency.SECONDS: 5000, Latency.BATCH: 60000}
COST_BUDGET_USD = {Cost.LOW: 1.00, Cost.MEDIUM: 0.10, Cost.HIGH: 0.01}
ESCALATE_BELOW = 0.5
CASCADE_BELOW = 0.7


@dataclass(frozen=True)
class Answers:
    """What the user said about the task."""

    structure: Structure
    simple_share: int  # percent of requests that are simple, 0-100
    latency: Latency
    cost: Cost
    categories: int  # known request categories; 0 = none


def fanout_wait_ms(latency: Latency) -> int:
    """How long a fan-out waits for its branches, for this latency need."""
    # A quarter of the request's budget is left for the merge and the hops around it.
    return LATENCY_BUDGET_MS[latency] * 3 // 4
