"""The `cascade` node's builder: steps tried in order, and the confidence that stops it."""

from __future__ import annotations

from typing import Any

from router_service.composition._context import Compiler
from router_service.plan import CascadeNode, Node
from tutti.config import read_number

__all__ = ["build_cascade"]


def build_cascade(c: Compiler, body: Any, line: int) -> Node | None:
    if not c.keys(body, line, "cascade", ("steps", "below", "field"), ("steps", "below")):
        return None
    steps = c.children(body["steps"], body.line_of("steps"), "cascade steps", 2)
    below = read_number(body, "below", c.at(body), minimum=0.0)
    if below is not None and below > 1.0:
        c.error(body.line_of("below"), f"cascade 'below' is a confidence in [0, 1], not {below:g}")
    field = str(body.get("field", ""))
    if not steps or below is None:
        return None
    input_type, output_type = c.same_types(steps, "cascade steps differ")
    c.check_confidence_path(output_type, field, body.line_of("field"), "cascade")
    return CascadeNode(
        steps=tuple(node for node, _ in steps),
        below=below,
        field=field,
        line=line,
        input_type=input_type,
        output_type=output_type,
    )
