"""The `sequence` node's builder: steps whose types must chain, output to input."""

from __future__ import annotations

import itertools
from typing import Any

from router_service.composition._context import Compiler
from router_service.plan import Node, SequenceNode, stage_of

__all__ = ["build_sequence"]


def build_sequence(c: Compiler, body: Any, line: int) -> Node | None:
    steps = c.children(body, line, "sequence", 1)
    if not steps:
        return None
    for (previous, _), (step, step_line) in itertools.pairwise(steps):
        if previous.output_type and step.input_type and previous.output_type != step.input_type:
            c.error(
                step_line,
                f"type mismatch: '{previous.label}' outputs {previous.output_type}"
                f" but '{step.label}' takes {step.input_type}",
                stage_of(step),
            )
    return SequenceNode(
        steps=tuple(node for node, _ in steps),
        line=line,
        input_type=steps[0][0].input_type,
        output_type=steps[-1][0].output_type,
    )
