"""What the router expects of each stage and node: price, latency and model version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from router_service._plan import (
    CascadeNode,
    Composition,
    EscalateNode,
    FallbackNode,
    FanoutNode,
    Node,
    RouteNode,
    SequenceNode,
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


def expectations(root: Node, stages: Mapping[str, StageProfile]) -> dict[int, Expectation]:
    """The Expectation of every node under `root`, keyed by id(node)."""
    table: dict[int, Expectation] = {}

    def visit(node: Node) -> Expectation:
        if isinstance(node, StageNode):
            profile = stages[node.stage.name]
            found = Expectation(profile.expected_ms, profile.price.per_call_usd)
        elif isinstance(node, SequenceNode | CascadeNode):
            parts = [visit(step) for step in node.steps]
            found = Expectation(sum(p.ms for p in parts), sum(p.usd for p in parts))
        elif isinstance(node, FallbackNode):
            # The first step is the expected path; a later one runs only when it failed.
            parts = [visit(step) for step in node.steps]
            found = parts[0]
        elif isinstance(node, RouteNode):
            by = visit(node.by)
            options = [
                visit(n)
                for n in (
                    node.default,
                    *(n for _, n in node.cases),
                    *(e.to for e in node.escalations),
                )
            ]
            found = Expectation(
                by.ms + max(o.ms for o in options), by.usd + max(o.usd for o in options)
            )
        elif isinstance(node, EscalateNode):
            source = visit(node.source)
            tiers = [visit(t.to) for t in node.tiers]
            found = Expectation(
                source.ms + max(t.ms for t in tiers), source.usd + max(t.usd for t in tiers)
            )
        elif isinstance(node, FanoutNode):
            branches = [visit(b) for b in node.branches]
            merger = stages[node.merger.name]
            slowest = max(b.ms for b in branches)
            if node.budget_ms:
                slowest = min(slowest, node.budget_ms)
            found = Expectation(
                slowest + merger.expected_ms,
                sum(b.usd for b in branches) + merger.price.per_call_usd,
            )
        else:
            options = [visit(b) for b in node.branches]
            found = Expectation(max(o.ms for o in options), max(o.usd for o in options))
        table[id(node)] = found
        return found

    visit(root)
    return table
