"""The settings tried, the target they are judged by, and the frontier they draw."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workbench.tune._knobs import Knob

__all__ = ["Point", "Target", "choose", "frontier", "grid"]

# Thresholds 0, 0.05, ..., 1 for one or two knobs (441 settings for two); coarser for more.
STEPS = 21


def grid(
    knobs: Sequence[Knob], pinned: Mapping[Knob, float], max_settings: int
) -> list[dict[Knob, float]]:
    """Every combination of the free knobs' values (the pinned ones fixed), at most
    `max_settings` of them: per knob the most evenly spaced values that fit."""
    free = [k for k in knobs if k not in pinned]
    if not free:
        return [dict(pinned)]
    steps = STEPS
    while steps > 2 and steps ** len(free) > max_settings:
        steps -= 1
    values = [round(i / (steps - 1), 6) for i in range(steps)]
    settings = []
    for combination in itertools.product(values, repeat=len(free)):
        settings.append({**pinned, **dict(zip(free, combination, strict=True))})
    return settings


@dataclass(frozen=True)
class Point:
    """One setting's figures on the tuning file."""

    values: dict[Knob, float]
    accuracy: float
    cost_per_item_usd: float
    errors: int = 0


@dataclass(frozen=True)
class Target:
    """At most this cost per item (maximise accuracy), or at least this accuracy (minimise cost)."""

    max_cost_usd: float | None = None
    min_accuracy: float | None = None

    def describe(self) -> str:
        if self.max_cost_usd is not None:
            return f"the most accurate setting at most ${self.max_cost_usd:.6f} an item"
        return f"the cheapest setting with accuracy at least {self.min_accuracy:.3f}"


def _distance(point: Point, current: Mapping[Knob, float]) -> float:
    return math.fsum(abs(v - current.get(k, v)) for k, v in point.values.items())


def choose(points: Sequence[Point], target: Target, current: Mapping[Knob, float]) -> Point | None:
    """The setting the target asks for; ties go to the cheaper, then to the file's own values.
    None when no setting meets the target."""
    if target.max_cost_usd is not None:
        cap = target.max_cost_usd + 1e-12
        feasible = [p for p in points if p.cost_per_item_usd <= cap and not p.errors]
        key = lambda p: (-p.accuracy, p.cost_per_item_usd, _distance(p, current))  # noqa: E731
    else:
        floor = (target.min_accuracy or 0.0) - 1e-12
        feasible = [p for p in points if p.accuracy >= floor and not p.errors]
        key = lambda p: (p.cost_per_item_usd, -p.accuracy, _distance(p, current))  # noqa: E731
    return min(feasible, key=key) if feasible else None


def frontier(points: Sequence[Point]) -> list[Point]:
    """The settings no other beats on both accuracy and cost, cheapest first."""
    best: list[Point] = []
    for point in sorted(points, key=lambda p: (p.cost_per_item_usd, -p.accuracy)):
        if not best or point.accuracy > best[-1].accuracy + 1e-12:
            best.append(point)
    return best
