"""Walking a plan: a node's children, every node under it, the stages that answer for it.

Each function matches every node kind and ends in `assert_never`, so a kind
added to `Node` without its case here fails the type check.
"""

from __future__ import annotations

from typing import assert_never

from router_service.plan._nodes import (
    CascadeNode,
    EscalateNode,
    FallbackNode,
    FanoutNode,
    Node,
    RouteNode,
    SequenceNode,
    SplitNode,
    StageNode,
)

__all__ = ["answering_stages", "children", "stage_of", "walk"]


def children(node: Node) -> tuple[Node, ...]:
    """The nodes directly under `node`, in the order they may run."""
    match node:
        case StageNode():
            return ()
        case SequenceNode() | CascadeNode() | FallbackNode():
            return node.steps
        case EscalateNode():
            return (node.source, *(t.to for t in node.tiers))
        case RouteNode():
            return (
                node.by,
                node.default,
                *(n for _, n in node.cases),
                *(e.to for e in node.escalations),
            )
        case FanoutNode() | SplitNode():
            return node.branches
        case _:
            assert_never(node)


def answering_stages(node: Node) -> list[StageNode]:
    """The stages whose output, once produced, is `node`'s answer as it stands.

    Their text may be streamed to a client while it is generated. A fan-out's
    branches are merged and a fallback's attempt may be replaced, so neither
    has one; an escalation's source or a cascade's early step may be replaced
    too, so only the tiers and the last step count.
    """
    match node:
        case StageNode():
            return [node]
        case SequenceNode() | CascadeNode():
            return answering_stages(node.steps[-1])
        case EscalateNode():
            return [s for tier in node.tiers for s in answering_stages(tier.to)]
        case RouteNode():
            targets = (
                node.default,
                *(n for _, n in node.cases),
                *(e.to for e in node.escalations),
            )
            return [s for target in targets for s in answering_stages(target)]
        case SplitNode():
            return [s for branch in node.branches for s in answering_stages(branch)]
        case FanoutNode() | FallbackNode():
            return []
        case _:
            assert_never(node)


def walk(node: Node) -> list[Node]:
    """Every node in the tree under `node`, itself included."""
    found = [node]
    for child in children(node):
        found.extend(walk(child))
    return found


def stage_of(node: Node) -> str:
    """The stage a problem with `node` is reported against: its own, or its classifier's."""
    match node:
        case StageNode():
            return node.stage.name
        case RouteNode():
            return node.by.stage.name
        case (
            SequenceNode()
            | CascadeNode()
            | EscalateNode()
            | FanoutNode()
            | SplitNode()
            | FallbackNode()
        ):
            return ""
        case _:
            assert_never(node)
