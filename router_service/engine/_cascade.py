"""The `cascade` node's coroutine: steps cheapest first, until one is valid and confident."""

from __future__ import annotations

from google.protobuf import any_pb2

from router_service.engine._flow import Flow
from router_service.engine._run import Result, Run
from router_service.plan import CascadeNode
from tutti.errors import OutputValidationError, StageCallError
from tutti.v1 import router_pb2

__all__ = ["run_cascade"]

Decision = router_pb2.Decision


async def run_cascade(flow: Flow, node: CascadeNode, payload: any_pb2.Any, run: Run) -> Result:
    last = len(node.steps) - 1
    answer: Result | None = None  # the best answer so far, kept if the next step cannot fit
    kept = ""  # the step that gave `answer`
    # What the step before this one came to: its confidence, or why it failed.
    before, confidence, failure = "", 0.0, ""
    for index, step in enumerate(node.steps):
        if index:
            reason = flow.budget.fits(step, run) if answer is not None else ""
            if answer is not None and reason:
                flow.budget.degrade(step, reason, run)
                _decided(node, run, before, confidence, kept, reason, degraded=True)
                return answer
            _decided(node, run, before, confidence, step.label, failure)
        if index == last:
            run.path.append(f"cascade->{step.label}")
            return await flow.node(step, payload, run)
        try:
            result = await flow.node(step, payload, run)
        except (OutputValidationError, StageCallError) as exc:
            run.path.append(f"cascade:{step.label} failed ({exc.code.name})")
            before, confidence, failure = step.label, 0.0, str(exc)
            continue
        confidence = flow.payloads.confidence(result, node.output_type, node.field, step.label)
        if confidence >= node.below:
            run.path.append(f"cascade->{step.label}@{confidence:.2f}")
            _decided(node, run, step.label, confidence, step.label)
            return result
        run.path.append(f"cascade:{step.label}@{confidence:.2f}<{node.below:g}")
        answer, kept, before, failure = result, step.label, step.label, ""
    raise AssertionError("unreachable: the last cascade step returns or raises")


def _decided(
    node: CascadeNode,
    run: Run,
    source: str,
    confidence: float,
    taken: str,
    reason: str = "",
    degraded: bool = False,
) -> None:
    """Record what the cascade made of one step's answer: keep it, or move on to `taken`.

    The span keeps the last such decision: the step kept, and the confidence that settled it
    (the kept step's, or the one before the last step's when the cascade ran to its end).
    """
    run.decide(
        Decision(
            node=node.label,
            kind=Decision.KIND_CASCADE,
            source=source,
            confidence=confidence,
            threshold=node.below,
            taken=taken,
            reason=reason,
            degraded=degraded,
        ),
        lambda: {
            "tutti.cascade.confidence": confidence,
            "tutti.cascade.threshold": node.below,
            "tutti.cascade.step": taken,
            "tutti.cascade.from": source,
        },
    )
