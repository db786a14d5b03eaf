"""The `sequence` node's coroutine: each output becomes the next step's input."""

from __future__ import annotations

from google.protobuf import any_pb2

from router_service.engine._flow import Flow
from router_service.engine._run import Result, Run
from router_service.plan import SequenceNode

__all__ = ["run_sequence"]


async def run_sequence(flow: Flow, node: SequenceNode, payload: any_pb2.Any, run: Run) -> Result:
    result = Result(payload)
    for step in node.steps:
        result = await flow.node(step, result.payload, run)
    return result
