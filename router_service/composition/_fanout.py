"""The `fanout` node's builder: branches, their merger and strategy, quorum and window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from router_service.composition._context import Compiler
from router_service.plan import FanoutNode, Node, StageSpec
from tutti.config import read_number
from tutti.located_yaml import LocatedMap
from tutti.v1 import merger_pb2

__all__ = ["MAX_FANOUT_WIDTH", "STRATEGIES", "build_fanout"]

# Wider fan-outs are refused when they load.
MAX_FANOUT_WIDTH = 16
STRATEGIES = {
    "majority_vote": merger_pb2.MERGE_STRATEGY_MAJORITY_VOTE,
    "confidence_weighted_vote": merger_pb2.MERGE_STRATEGY_CONFIDENCE_WEIGHTED_VOTE,
    "probability_average": merger_pb2.MERGE_STRATEGY_PROBABILITY_AVERAGE,
    "highest_confidence": merger_pb2.MERGE_STRATEGY_HIGHEST_CONFIDENCE,
    "first_valid": merger_pb2.MERGE_STRATEGY_FIRST_VALID,
}


def build_fanout(c: Compiler, body: Any, line: int) -> Node | None:
    if not c.keys(
        body,
        line,
        "fanout",
        ("branches", "merge", "quorum", "budget_ms"),
        ("branches", "merge"),
    ):
        return None
    raw_branches = body["branches"]
    branches_line = body.line_of("branches")
    names: list[str] = []
    if isinstance(raw_branches, LocatedMap):
        branches = []
        for name, raw in raw_branches.items():
            node = c.node(raw, raw_branches.line_of(name))
            if node is not None:
                branches.append((node, raw_branches.line_of(name)))
                names.append(str(name))
    else:
        branches = c.children(raw_branches, branches_line, "fanout branches", 1)
        names = [node.label for node, _ in branches]
        if len(set(names)) != len(names):
            c.error(
                branches_line,
                "fan-out branches need distinct names: give 'branches' as a mapping of name to node",
            )
    if len(branches) > MAX_FANOUT_WIDTH:
        c.error(
            branches_line,
            f"a fan-out has at most {MAX_FANOUT_WIDTH} branches, not {len(branches)}",
        )
    merge = body["merge"]
    merger: StageSpec | None = None
    strategy = merger_pb2.MERGE_STRATEGY_UNSPECIFIED
    field = ""
    weights: dict[str, float] = {}
    if c.keys(
        merge,
        body.line_of("merge"),
        "merge",
        ("by", "strategy", "field", "weights"),
        ("by", "strategy"),
    ):
        merger = c.draft.stages.get(merge["by"]) if isinstance(merge["by"], str) else None
        if merger is None or not merger.is_merger:
            kind = "not a merger stage (kind: merger)" if merger is not None else "unknown"
            c.error(merge.line_of("by"), f"merge by '{merge['by']}': {kind}", str(merge["by"]))
            merger = None
        else:
            c.used.add(merger.name)
        strategy = STRATEGIES.get(str(merge["strategy"]), merger_pb2.MERGE_STRATEGY_UNSPECIFIED)
        if not strategy:
            c.error(
                merge.line_of("strategy"),
                f"unknown merge strategy '{merge['strategy']}' (allowed: {', '.join(STRATEGIES)})",
            )
        field = str(merge.get("field", ""))
        raw_weights = merge.get("weights") or {}
        if isinstance(raw_weights, Mapping):
            for name in raw_weights:
                value = read_number(
                    raw_weights, name, c.at(raw_weights), minimum=0.0, exclusive=True
                )
                if name not in names:
                    c.error(merge.line_of("weights"), f"weight for unknown branch '{name}'")
                elif value is not None:
                    weights[name] = value
    quorum_raw = read_number(body, "quorum", c.at(body), minimum=1.0)
    if quorum_raw is not None and not quorum_raw.is_integer():
        # A count of branches: 1.5 would otherwise be cut to 1 without a word.
        c.error(body.line_of("quorum"), f"'quorum' must be a whole number, not {body['quorum']!r}")
        quorum_raw = None
    quorum = int(quorum_raw) if quorum_raw is not None else len(branches)
    if quorum > len(branches) and branches:
        c.error(
            body.line_of("quorum"), f"quorum {quorum} is more than the {len(branches)} branches"
        )
    budget_ms = read_number(body, "budget_ms", c.at(body), minimum=0.0, exclusive=True) or 0.0
    if not branches or merger is None or not strategy:
        return None
    input_type, output_type = c.same_types(branches, "fan-out branches differ")
    if field or strategy != merger_pb2.MERGE_STRATEGY_FIRST_VALID:
        c.check_confidence_path(output_type, field, merge.line_of("field"), "merge")
    return FanoutNode(
        branches=tuple(node for node, _ in branches),
        names=tuple(names),
        merger=merger,
        strategy=strategy,
        field=field,
        weights=tuple(weights.items()),
        quorum=quorum,
        budget_ms=budget_ms,
        line=line,
        input_type=input_type,
        output_type=output_type,
    )
