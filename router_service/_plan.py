"""The immutable plan a composition compiles into: one tree of flow nodes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from router_service._spec import Budget, CacheBackend, StageSpec
from tutti.v1 import merger_pb2

__all__ = [
    "CascadeNode",
    "Composition",
    "EscalateNode",
    "Escalation",
    "FallbackNode",
    "FanoutNode",
    "Node",
    "RouteNode",
    "SequenceNode",
    "SplitNode",
    "StageNode",
    "children",
    "walk",
]


@dataclass(frozen=True)
class StageNode:
    stage: StageSpec
    line: int
    input_type: str
    output_type: str

    @property
    def label(self) -> str:
        return self.stage.name


@dataclass(frozen=True)
class SequenceNode:
    steps: tuple[Node, ...]
    line: int
    input_type: str
    output_type: str
    label: str = "sequence"


@dataclass(frozen=True)
class Escalation:
    """Decisions with confidence under `below` go to `to` instead of their case."""

    below: float
    to: Node


@dataclass(frozen=True)
class RouteNode:
    # The classifier stage whose decision picks the case.
    by: StageNode
    cases: tuple[tuple[str, Node], ...]
    default: Node
    # Sorted by `below`, lowest first: the first that applies wins.
    escalations: tuple[Escalation, ...]
    line: int
    input_type: str
    output_type: str

    @property
    def label(self) -> str:
        return f"route:{self.by.stage.name}"

    def case(self, label: str) -> Node:
        for name, node in self.cases:
            if name == label:
                return node
        return self.default


@dataclass(frozen=True)
class CascadeNode:
    steps: tuple[Node, ...]
    # Move on while the step's confidence is under this.
    below: float
    # Dotted path to the Classification inside the output; "" when it is one.
    field: str
    line: int
    input_type: str
    output_type: str
    label: str = "cascade"


@dataclass(frozen=True)
class EscalateNode:
    """Keeps `source`'s answer unless its confidence is under a tier's threshold."""

    source: Node
    # Dotted path to the Classification inside the output; "" when it is one.
    field: str
    # Sorted by `below`, lowest first: the first that applies wins.
    tiers: tuple[Escalation, ...]
    line: int
    input_type: str
    output_type: str
    label: str = "escalate"


@dataclass(frozen=True)
class FanoutNode:
    branches: tuple[Node, ...]
    names: tuple[str, ...]
    merger: StageSpec
    strategy: merger_pb2.MergeStrategy
    field: str
    weights: tuple[tuple[str, float], ...]
    quorum: int
    budget_ms: float
    line: int
    input_type: str
    output_type: str
    label: str = "fanout"


@dataclass(frozen=True)
class SplitNode:
    branches: tuple[Node, ...]
    # Cumulative weights, normalised so that the last is 1.0.
    cumulative: tuple[float, ...]
    line: int
    input_type: str
    output_type: str
    label: str = "split"


@dataclass(frozen=True)
class FallbackNode:
    """The first step's answer; the next step's when it fails."""

    steps: tuple[Node, ...]
    line: int
    input_type: str
    output_type: str
    label: str = "fallback"


Node = (
    StageNode
    | SequenceNode
    | RouteNode
    | CascadeNode
    | EscalateNode
    | FanoutNode
    | SplitNode
    | FallbackNode
)


def children(node: Node) -> tuple[Node, ...]:
    """The nodes directly under `node`, in the order they may run."""
    if isinstance(node, SequenceNode | CascadeNode | FallbackNode):
        return node.steps
    if isinstance(node, EscalateNode):
        return (node.source, *(t.to for t in node.tiers))
    if isinstance(node, RouteNode):
        return (
            node.by,
            node.default,
            *(n for _, n in node.cases),
            *(e.to for e in node.escalations),
        )
    if isinstance(node, FanoutNode | SplitNode):
        return node.branches
    return ()


def answering_stages(node: Node) -> list[StageNode]:
    """The stages whose output, once produced, is `node`'s answer as it stands.

    Their text may be streamed to a client while it is generated. A fan-out's
    branches are merged and a fallback's attempt may be replaced, so neither
    has one; an escalation's source or a cascade's early step may be replaced
    too, so only the tiers and the last step count.
    """
    if isinstance(node, StageNode):
        return [node]
    if isinstance(node, SequenceNode | CascadeNode):
        return answering_stages(node.steps[-1])
    if isinstance(node, EscalateNode):
        return [s for tier in node.tiers for s in answering_stages(tier.to)]
    if isinstance(node, RouteNode):
        targets = (node.default, *(n for _, n in node.cases), *(e.to for e in node.escalations))
        return [s for target in targets for s in answering_stages(target)]
    if isinstance(node, SplitNode):
        return [s for branch in node.branches for s in answering_stages(branch)]
    return []


def walk(node: Node) -> list[Node]:
    """Every node in the tree under `node`, itself included."""
    found = [node]
    for child in children(node):
        found.extend(walk(child))
    return found


@dataclass(frozen=True)
class Composition:
    """A compiled, type-checked composition, ready to run."""

    name: str
    source: str
    input_type: str
    output_type: str
    budget: Budget
    stages: Mapping[str, StageSpec]
    flow: Node
    warnings: tuple[str, ...] = ()
    cache: CacheBackend = field(default_factory=CacheBackend)
