"""What the router expects of each stage and node: price, latency and model version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import assert_never

from router_service.plan._nodes import (
    CascadeNode,
    Composition,
    EscalateNode,
    FallbackNode,
    FanoutNode,
    Node,
    RouteNode,
    SequenceNode,
    SplitNode,
    StageNode,
)
from tutti.config import Price

__all__ = ["Expectation", "StageProfile", "expectations", "profiles"]


@dataclass(frozen=True)
class StageProfile:
    """A stage's price, expected latency and model version, from the YAML or its model card."""

    price: Price = field(default_factory=Price)
    expected_ms: float = 0.0
    version: str = ""


@dataclass(frozen=True)
class Expectation:
    """The worst case of a node: the slowest path's latency and the dearest path's price."""

    ms: float
    usd: float


def profiles(
    composition: Composition, described: Mapping[str, StageProfile] | None = None
) -> dict[str, StageProfile]:
    """Declared prices win over model cards; a stage's budget stands in for an unknown latency."""
    found = {}
    for name, spec in composition.stages.items():
        card = (described or {}).get(name, StageProfile())
        found[name] = StageProfile(
            price=spec.price or card.price,
            expected_ms=card.expected_ms or spec.budget_ms,
            version=card.version,
        )
    return found


def _worst(parts: list[Expectation]) -> Expectation:
    return Expectation(max(p.ms for p in parts), max(p.usd for p in parts))


def _then(first: Expectation, then: Expectation) -> Expectation:
    return Expectation(first.ms + then.ms, first.usd + then.usd)


def expectations(root: Node, stages: Mapping[str, StageProfile]) -> dict[int, Expectation]:
    """The Expectation of every node under `root`, keyed by id(node)."""
    table: dict[int, Expectation] = {}

    def visit(node: Node) -> Expectation:
        found: Expectation
        match node:
            case StageNode():
                profile = stages[node.stage.name]
                found = Expectation(profile.expected_ms, profile.price.per_call_usd)
            case SequenceNode() | CascadeNode():
                parts = [visit(step) for step in node.steps]
                found = Expectation(sum(p.ms for p in parts), sum(p.usd for p in parts))
            case FallbackNode():
                # The first step is the expected path; a later one runs only when it failed.
                parts = [visit(step) for step in node.steps]
                found = parts[0]
            case RouteNode():
                targets = (
                    node.default,
                    *(n for _, n in node.cases),
                    *(e.to for e in node.escalations),
                )
                found = _then(visit(node.by), _worst([visit(n) for n in targets]))
            case EscalateNode():
                found = _then(visit(node.source), _worst([visit(t.to) for t in node.tiers]))
            case FanoutNode():
                branches = [visit(b) for b in node.branches]
                merger = stages[node.merger.name]
                slowest = max(b.ms for b in branches)
                if node.budget_ms:
                    slowest = min(slowest, node.budget_ms)
                found = Expectation(
                    slowest + merger.expected_ms,
                    sum(b.usd for b in branches) + merger.price.per_call_usd,
                )
            case SplitNode():
                found = _worst([visit(b) for b in node.branches])
            case _:
                assert_never(node)
        table[id(node)] = found
        return found

    visit(root)
    return table
