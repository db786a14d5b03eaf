"""The `route` node's builder: a classifier stage, its cases, its default and escalations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from router_service.composition._context import Compiler
from router_service.plan import Node, RouteNode, StageNode
from tutti.located_yaml import LocatedMap
from tutti.messages import CLASSIFICATION

__all__ = ["build_route"]


def build_route(c: Compiler, body: Any, line: int) -> Node | None:
    if not c.keys(body, line, "route", ("by", "cases", "default", "escalate"), ("by", "default")):
        return None
    by_name = body["by"]
    by_line = body.line_of("by")
    by = c.draft.stages.get(by_name) if isinstance(by_name, str) else None
    if by is None:
        c.error(by_line, f"unknown classifier stage '{by_name}'", str(by_name))
        return None
    c.used.add(by.name)
    by_in, by_out = c.types_of(by)
    if by_out and by_out != CLASSIFICATION:
        c.error(
            by_line, f"a route's classifier must return {CLASSIFICATION}, not {by_out}", by.name
        )
    branches: list[tuple[Node, int]] = []
    cases: list[tuple[str, Node]] = []
    raw_cases = body.get("cases") or {}
    if not isinstance(raw_cases, Mapping):
        c.error(body.line_of("cases"), "route 'cases' must map a label to a node")
        raw_cases = {}
    for label, raw in raw_cases.items():
        case_line = raw_cases.line_of(label) if isinstance(raw_cases, LocatedMap) else line
        node = c.node(raw, case_line)
        if node is not None:
            cases.append((str(label), node))
            branches.append((node, case_line))
    default = c.node(body["default"], body.line_of("default"))
    if default is None:
        return None
    escalations = c.tiers(body.get("escalate"), body.line_of("escalate"), by.name)
    branches.extend((tier.to, tier.to.line) for tier in escalations)
    input_type, output_type = c.same_types(
        [(default, body.line_of("default")), *branches], "route cases differ"
    )
    if by_in and input_type and by_in != input_type:
        c.error(
            by_line,
            f"classifier '{by.name}' takes {by_in} but the route's cases take {input_type}",
            by.name,
        )
    return RouteNode(
        by=StageNode(stage=by, line=by_line, input_type=by_in, output_type=by_out),
        cases=tuple(cases),
        default=default,
        escalations=escalations,
        line=line,
        input_type=by_in or input_type,
        output_type=output_type,
    )
