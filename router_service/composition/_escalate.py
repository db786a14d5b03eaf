"""The `escalate` node's builder: a source node and the tiers its unsure answers go to."""

from __future__ import annotations

from typing import Any

from router_service.composition._context import Compiler
from router_service.plan import EscalateNode, Node, stage_of

__all__ = ["build_escalate"]


def build_escalate(c: Compiler, body: Any, line: int) -> Node | None:
    """Keep a node's answer when it is confident; otherwise hand the input to a stronger node."""
    if not c.keys(body, line, "escalate", ("from", "field", "tiers"), ("from", "tiers")):
        return None
    source = c.node(body["from"], body.line_of("from"))
    field = str(body.get("field", ""))
    tiers = c.tiers(body["tiers"], body.line_of("tiers"), stage_of(source) if source else "")
    if source is None or not tiers:
        if source is not None:
            c.error(body.line_of("tiers"), "escalate needs at least one {below, to} tier")
        return None
    input_type, output_type = c.same_types(
        [(source, body.line_of("from")), *((t.to, t.to.line) for t in tiers)],
        "escalate targets differ",
    )
    c.check_confidence_path(output_type, field, body.line_of("field"), "escalate")
    return EscalateNode(
        source=source,
        field=field,
        tiers=tiers,
        line=line,
        input_type=input_type,
        output_type=output_type,
    )
