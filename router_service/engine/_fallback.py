"""The `fallback` node's coroutine: the first step's answer, or the next one's when it fails."""

from __future__ import annotations

from google.protobuf import any_pb2

from router_service.engine._flow import Flow
from router_service.engine._run import Result, Run
from router_service.plan import FallbackNode
from tutti.errors import FanoutQuorumError, StageError

__all__ = ["run_fallback"]


async def run_fallback(flow: Flow, node: FallbackNode, payload: any_pb2.Any, run: Run) -> Result:
    """The first step's answer; when it fails (an error, its deadline, an open circuit,
    an invalid output, a fan-out short of quorum), the next step's."""
    last = len(node.steps) - 1
    for index, step in enumerate(node.steps):
        if index == last:
            return await flow.node(step, payload, run)
        try:
            return await flow.node(step, payload, run)
        except (StageError, FanoutQuorumError) as exc:
            run.path.append(
                f"fallback:{step.label} failed ({exc.code.name})->{node.steps[index + 1].label}"
            )
    raise AssertionError("unreachable: the last fallback step returns or raises")
