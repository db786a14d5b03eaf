"""The `split` node's builder: weighted branches, normalised to cumulative weights."""

from __future__ import annotations

from typing import Any

from router_service.composition._context import Compiler, as_list
from router_service.plan import Node, SplitNode
from tutti.config import read_number

__all__ = ["build_split"]


def build_split(c: Compiler, body: Any, line: int) -> Node | None:
    if not isinstance(body, list) or not body:
        c.error(line, "'split' needs a list of {weight, to} entries")
        return None
    branches: list[tuple[Node, int]] = []
    weights: list[float] = []
    for raw, item_line in as_list(body, line):
        if not c.keys(raw, item_line, "split entry", ("weight", "to"), ("weight", "to")):
            continue
        weight = read_number(raw, "weight", c.at(raw), minimum=0.0, exclusive=True)
        node = c.node(raw["to"], raw.line_of("to"))
        if node is not None and weight is not None:
            branches.append((node, item_line))
            weights.append(weight)
    if not branches or len(branches) != len(body):
        return None
    input_type, output_type = c.same_types(branches, "split branches differ")
    total = sum(weights)
    cumulative, running = [], 0.0
    for weight in weights:
        running += weight
        cumulative.append(running / total)
    cumulative[-1] = 1.0
    return SplitNode(
        branches=tuple(node for node, _ in branches),
        cumulative=tuple(cumulative),
        line=line,
        input_type=input_type,
        output_type=output_type,
    )
