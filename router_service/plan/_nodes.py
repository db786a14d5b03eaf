"""The immutable plan a composition compiles into: one tree of flow nodes, one class per kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from router_service.plan._stages import Budget, CacheBackend, StageSpec
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
]


@dataclass(frozen=True)
class StageNode:
    """Call one model stage with the input; its output is the answer."""

    stage: StageSpec
    line: int
    input_type: str
    output_type: str

    @property
    def label(self) -> str:
        return self.stage.name


@dataclass(frozen=True)
class SequenceNode:
    """Each step's output becomes the next step's input; the last one answers."""

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
    """A classifier stage picks a case by its label; low-confidence decisions may escalate."""

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
    """Try the steps cheapest first; move on while a step fails or is unconfident."""

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
    """The same input to every branch at once; a merger combines those that answered in time."""

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
    """Weighted traffic between branches (canary, A/B): one branch, drawn at random, answers."""

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
