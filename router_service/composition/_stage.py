"""The `stage` node's builder: a stage name becomes a call to that stage."""

from __future__ import annotations

from typing import Any

from router_service.composition._context import Compiler, did_you_mean
from router_service.plan import Node, StageNode

__all__ = ["build_stage"]


def build_stage(c: Compiler, body: Any, line: int) -> Node | None:
    if not isinstance(body, str) or body not in c.draft.stages:
        hint = did_you_mean(str(body), list(c.draft.stages))
        c.error(line, f"unknown stage '{body}'{hint}", str(body))
        return None
    spec = c.draft.stages[body]
    c.used.add(body)
    if spec.is_merger:
        c.error(line, "a merger stage can only be used as a fan-out's merge", body)
        return None
    input_type, output_type = c.types_of(spec)
    return StageNode(stage=spec, line=line, input_type=input_type, output_type=output_type)
