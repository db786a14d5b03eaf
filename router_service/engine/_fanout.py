"""The `fanout` node's coroutine: every branch at once, merged at quorum or the window's end."""

from __future__ import annotations

import asyncio
import time

import grpc
from google.protobuf import any_pb2
from opentelemetry import trace

from router_service.engine._flow import Flow
from router_service.engine._run import Result, Run
from router_service.plan import FanoutNode
from tutti.errors import FanoutQuorumError, TuttiError

__all__ = ["run_fanout"]


async def run_fanout(flow: Flow, node: FanoutNode, payload: any_pb2.Any, run: Run) -> Result:
    flow.budget.before_fanout(node, run)
    tasks = {
        asyncio.ensure_future(flow.node(branch, payload, run)): name
        for branch, name in zip(node.branches, node.names, strict=True)
    }
    answered: dict[str, Result] = {}
    failed: dict[str, BaseException] = {}
    end = flow.budget.fanout_end(node, run)
    pending = set(tasks)
    try:
        while pending and len(answered) + len(pending) >= node.quorum:
            wait = None if end is None else end - time.monotonic()
            if wait is not None and wait <= 0:
                break
            done, pending = await asyncio.wait(
                pending, timeout=wait, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                exc = task.exception()
                if exc is None:
                    answered[tasks[task]] = task.result()
                elif isinstance(exc, TuttiError):
                    failed[tasks[task]] = exc
                else:
                    raise exc  # a bug, not a branch that failed: let the interceptor log it
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    late = [tasks[t] for t in pending]
    if late:
        run.path.append(f"fanout:late {','.join(late)}")
    if failed:
        run.path.append(f"fanout:failed {','.join(failed)}")
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(
            {
                "tutti.fanout.answered": [name for name in node.names if name in answered],
                "tutti.fanout.late": late,
                "tutti.fanout.failed": list(failed),
            }
        )
    if len(answered) < node.quorum:
        missing = [name for name in node.names if name not in answered]
        code = grpc.StatusCode.DEADLINE_EXCEEDED if late else grpc.StatusCode.UNAVAILABLE
        raise FanoutQuorumError(node.label, missing, code)
    answers = [(n, answered[n]) for n in node.names if n in answered]
    return await flow.calls.merge(node, answers, run)
