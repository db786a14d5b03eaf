"""The plan: the immutable tree a composition compiles into, how to walk it, what it costs."""

from __future__ import annotations

from router_service.plan._expect import Expectation, StageProfile, expectations, profiles
from router_service.plan._nodes import (
    CascadeNode,
    Composition,
    EscalateNode,
    Escalation,
    FallbackNode,
    FanoutNode,
    Node,
    RouteNode,
    SequenceNode,
    SplitNode,
    StageNode,
)
from router_service.plan._stages import (
    Budget,
    CacheBackend,
    CachePolicy,
    CircuitPolicy,
    HedgePolicy,
    RetryPolicy,
    StageSpec,
)
from router_service.plan._walk import answering_stages, children, stage_of, walk

__all__ = [
    "Budget",
    "CacheBackend",
    "CachePolicy",
    "CascadeNode",
    "CircuitPolicy",
    "Composition",
    "EscalateNode",
    "Escalation",
    "Expectation",
    "FallbackNode",
    "FanoutNode",
    "HedgePolicy",
    "Node",
    "RetryPolicy",
    "RouteNode",
    "SequenceNode",
    "SplitNode",
    "StageNode",
    "StageProfile",
    "StageSpec",
    "answering_stages",
    "children",
    "expectations",
    "profiles",
    "stage_of",
    "walk",
]
