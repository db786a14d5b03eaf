"""The drafts report's figures: each ticket's outcome, summed up per system and for the drafter."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.metrics import f1_score

from tutti.v1 import router_pb2

__all__ = ["Outcome", "SystemResult", "draft_figures", "summarise"]

STATUS_OK = router_pb2.StageRun.STATUS_OK


@dataclass(frozen=True)
class Outcome:
    """What one system did with one ticket."""

    truth: str
    predicted: str
    latency_ms: float
    cost_usd: float
    cpu_ms: float
    escalated: bool = False
    fanned_out: bool = False
    error: str = ""


@dataclass(frozen=True)
class SystemResult:
    name: str
    kind: str  # "single" | "composed"
    n_tickets: int
    accuracy: float
    macro_f1: float
    cost_usd: float  # declared cost of answering all n_tickets
    cost_per_ticket_usd: float
    cpu_ms: float  # mean CPU time per ticket, summed over the stages that ran
    p50_ms: float
    p95_ms: float
    escalated_share: float
    fanout_share: float
    errors: int


def _percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summarise(name: str, kind: str, outcomes: Sequence[Outcome]) -> SystemResult:
    answered = [o for o in outcomes if not o.error]
    n = len(outcomes)
    truths = [o.truth for o in outcomes]
    predictions = [o.predicted if not o.error else "<error>" for o in outcomes]
    cost = sum(o.cost_usd for o in outcomes)
    return SystemResult(
        name=name,
        kind=kind,
        n_tickets=n,
        accuracy=sum(t == p for t, p in zip(truths, predictions, strict=True)) / n if n else 0.0,
        macro_f1=float(f1_score(truths, predictions, average="macro", labels=sorted(set(truths))))
        if n
        else 0.0,
        cost_usd=cost,
        cost_per_ticket_usd=cost / n if n else 0.0,
        cpu_ms=statistics.fmean(o.cpu_ms for o in answered) if answered else 0.0,
        p50_ms=_percentile([o.latency_ms for o in answered], 0.50),
        p95_ms=_percentile([o.latency_ms for o in answered], 0.95),
        escalated_share=sum(o.escalated for o in outcomes) / n if n else 0.0,
        fanout_share=sum(o.fanned_out for o in outcomes) / n if n else 0.0,
        errors=n - len(answered),
    )


def draft_figures(
    executions: Sequence[router_pb2.Execution], n_tickets: int, drafter: str
) -> dict[str, Any]:
    """The drafter stage's share of tickets, cost and latency, from each request's Execution."""
    runs = [s for e in executions for s in e.stages if s.stage == drafter]
    ok = [s for s in runs if s.status == STATUS_OK]
    latencies = [s.latency_ms for s in ok]
    cost = sum(s.cost_usd for s in runs)
    return {
        "tickets": n_tickets,
        "drafted": len(ok),
        "drafter_failed": len(runs) - len(ok),
        "drafted_share": len(ok) / n_tickets if n_tickets else 0.0,
        "drafter_cost_usd": cost,
        "drafter_cost_per_draft_usd": cost / len(ok) if ok else 0.0,
        "drafter_p50_ms": _percentile(latencies, 0.50),
        "drafter_p95_ms": _percentile(latencies, 0.95),
        "drafter_compute_ms_mean": statistics.fmean(s.compute_ms for s in ok) if ok else 0.0,
        "quality": "not scored",
    }
