"""The `cascade` node's coroutine: steps cheapest first, until one is valid and confident."""

from __future__ import annotations

from google.protobuf import any_pb2

from router_service.engine._flow import Flow
from router_service.engine._run import Result, Run
from router_service.plan import CascadeNode
from tutti.errors import OutputValidationError, StageCallError

__all__ = ["run_cascade"]


async def run_cascade(flow: Flow, node: CascadeNode, payload: any_pb2.Any, run: Run) -> Result:
    last = len(node.steps) - 1
    answer: Result | None = None  # the best answer so far, kept if the next step cannot fit
    for index, step in enumerate(node.steps):
        if answer is not None:
            reason = flow.budget.fits(step, run)
            if reason:
                flow.budget.degrade(step, reason, run)
                return answer
        if index == last:
            run.path.append(f"cascade->{step.label}")
            return await flow.node(step, payload, run)
        try:
            result = await flow.node(step, payload, run)
        except (OutputValidationError, StageCallError) as exc:
            run.path.append(f"cascade:{step.label} failed ({exc.code.name})")
            continue
        confidence = flow.payloads.confidence(result, node.output_type, node.field, step.label)
        if confidence >= node.below:
            run.path.append(f"cascade->{step.label}@{confidence:.2f}")
            return result
        run.path.append(f"cascade:{step.label}@{confidence:.2f}<{node.below:g}")
        answer = result
    raise AssertionError("unreachable: the last cascade step returns or raises")
