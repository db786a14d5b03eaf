"""The figures of a system over its outcomes, and what the composition gains over the baselines."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from workbench.evaluation._outcomes import Outcome

__all__ = ["Comparison", "Figures", "Routing", "compare", "figures", "macro_f1", "percentile"]


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in [0, 1]); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered) - 1e-9))  # the noise: 0.95 * 20 = 19.000001
    return ordered[min(len(ordered), rank) - 1]


def macro_f1(outcomes: Sequence[Outcome]) -> float:
    """The unweighted mean of each true label's F1 (labels only predicted count too)."""
    labels = {o.truth for o in outcomes} | {o.predicted for o in outcomes if o.predicted}
    if not labels:
        return 0.0
    true_positive: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    for o in outcomes:
        actual[o.truth] += 1
        if o.predicted:
            predicted[o.predicted] += 1
        if o.correct:
            true_positive[o.truth] += 1
    scores = []
    for label in labels:
        denominator = predicted[label] + actual[label]
        scores.append(2 * true_positive[label] / denominator if denominator else 0.0)
    return sum(scores) / len(scores)


@dataclass(frozen=True)
class Figures:
    """One system over one file. Cost is per item, declared prices and reported usage."""

    name: str
    kind: str  # "composition" | "baseline"
    items: int
    accuracy: float
    macro_f1: float
    cost_per_item_usd: float
    total_cost_usd: float
    p50_ms: float
    p95_ms: float
    errors: int
    # Share of items each stage answered for (stage -> share), in the order first seen.
    reach: dict[str, float] = field(default_factory=dict)


def figures(name: str, kind: str, outcomes: Sequence[Outcome]) -> Figures:
    n = len(outcomes)
    total = sum(o.cost_usd for o in outcomes)
    latencies = [o.latency_ms for o in outcomes if not o.error]
    reached: Counter[str] = Counter()
    for o in outcomes:
        reached.update(set(o.stages))
    order = list(dict.fromkeys(s for o in outcomes for s in o.stages))
    return Figures(
        name=name,
        kind=kind,
        items=n,
        accuracy=sum(o.correct for o in outcomes) / n if n else 0.0,
        macro_f1=macro_f1(outcomes),
        cost_per_item_usd=total / n if n else 0.0,
        total_cost_usd=total,
        p50_ms=percentile(latencies, 0.5),
        p95_ms=percentile(latencies, 0.95),
        errors=sum(1 for o in outcomes if o.error),
        reach={stage: reached[stage] / n for stage in order} if n else {},
    )


@dataclass(frozen=True)
class Routing:
    """Where the composition sent items to the strongest stage, against where it had to.

    An item is hard when the cheapest baseline gets it wrong; it was sent dear when the
    composition's answer for it went through the strongest baseline's stage.
    """

    hard_sent_cheap: int  # under-routing
    hard_sent_dear: int
    easy_sent_cheap: int
    easy_sent_dear: int  # over-routing


@dataclass(frozen=True)
class Comparison:
    """The composition against its cheapest and its strongest baseline."""

    cheapest: str
    strongest: str
    # (composition - cheapest) / (strongest - cheapest), in accuracy; None when they tie.
    pgr: float | None
    # 1 - composition's cost / strongest's; None when the strongest costs nothing.
    cost_saved: float | None
    routing: Routing | None


def compare(
    composition: tuple[Figures, Sequence[Outcome]],
    baselines: Sequence[tuple[Figures, Sequence[Outcome]]],
) -> Comparison | None:
    """None without a baseline. The strongest is the dearest (the more accurate on a tie):
    the model a composition is built to call less, whether or not it wins on this file."""
    if not baselines:
        return None
    composed, composed_outcomes = composition
    cheapest, cheap_outcomes = min(
        baselines, key=lambda b: (b[0].cost_per_item_usd, -b[0].accuracy)
    )
    strongest = max(baselines, key=lambda b: (b[0].cost_per_item_usd, b[0].accuracy))[0]
    gap = strongest.accuracy - cheapest.accuracy
    pgr = (composed.accuracy - cheapest.accuracy) / gap if abs(gap) > 1e-12 else None
    saved = (
        1.0 - composed.cost_per_item_usd / strongest.cost_per_item_usd
        if strongest.cost_per_item_usd > 0
        else None
    )
    routing = _routing(composed_outcomes, cheap_outcomes, strongest.name)
    return Comparison(cheapest.name, strongest.name, pgr, saved, routing)


def _routing(composed: Sequence[Outcome], cheap: Sequence[Outcome], dear: str) -> Routing | None:
    """None when the composition never calls the strongest stage: it routes nothing to it."""
    if not any(dear in o.stages for o in composed):
        return None
    cheap_by_item = {o.item: o for o in cheap}
    counts: Counter[tuple[bool, bool]] = Counter()
    for o in composed:
        base = cheap_by_item.get(o.item)
        if base is None or o.error:
            continue
        counts[(not base.correct, dear in o.stages)] += 1
    return Routing(
        hard_sent_cheap=counts[(True, False)],
        hard_sent_dear=counts[(True, True)],
        easy_sent_cheap=counts[(False, False)],
        easy_sent_dear=counts[(False, True)],
    )
