"""The `route` node's coroutine: the classifier's label picks a case; unsure ones escalate."""

from __future__ import annotations

from google.protobuf import any_pb2
from opentelemetry import trace

from router_service.engine._flow import Flow
from router_service.engine._run import Result, Run
from router_service.plan import RouteNode
from tutti.v1 import payloads_pb2

__all__ = ["run_route"]


async def run_route(flow: Flow, node: RouteNode, payload: any_pb2.Any, run: Run) -> Result:
    decision = flow.payloads.decoded(
        await flow.node(node.by, payload, run), node.by.output_type, node.by.label
    )
    assert isinstance(decision, payloads_pb2.Classification)
    target = node.case(decision.label)
    for escalation in node.escalations:
        if decision.confidence < escalation.below:
            reason = flow.budget.fits(escalation.to, run)
            if reason:
                flow.budget.degrade(escalation.to, reason, run)
                break
            run.path.append(
                f"{node.label}={decision.label}@{decision.confidence:.2f}"
                f"<{escalation.below:g}->escalate:{escalation.to.label}"
            )
            target = escalation.to
            break
    else:
        run.path.append(f"{node.label}={decision.label}->{target.label}")
    flow.instruments.route_cases.add(
        1, {"tutti.node": node.label, "tutti.route.case": target.label}
    )
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("tutti.route.case", target.label)
    return await flow.node(target, payload, run)
