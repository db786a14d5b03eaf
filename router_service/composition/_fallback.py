"""The `fallback` node's builder: steps of one type, each the next one's stand-in."""

from __future__ import annotations

from typing import Any

from router_service.composition._context import Compiler
from router_service.plan import FallbackNode, Node

__all__ = ["build_fallback"]


def build_fallback(c: Compiler, body: Any, line: int) -> Node | None:
    steps = c.children(body, line, "fallback", 2)
    if len(steps) < 2:
        return None
    input_type, output_type = c.same_types(steps, "fallback steps differ")
    return FallbackNode(
        steps=tuple(node for node, _ in steps),
        line=line,
        input_type=input_type,
        output_type=output_type,
    )
