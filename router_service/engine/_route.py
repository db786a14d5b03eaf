"""The `route` node's coroutine: the classifier's label picks a case; unsure ones escalate."""

from __future__ import annotations

from google.protobuf import any_pb2
from opentelemetry.util.types import AttributeValue

from router_service.engine._flow import Flow
from router_service.engine._run import Result, Run
from router_service.plan import RouteNode
from tutti.v1 import payloads_pb2, router_pb2

__all__ = ["run_route"]

Decision = router_pb2.Decision


async def run_route(flow: Flow, node: RouteNode, payload: any_pb2.Any, run: Run) -> Result:
    decision = flow.payloads.decoded(
        await flow.node(node.by, payload, run), node.by.output_type, node.by.label
    )
    assert isinstance(decision, payloads_pb2.Classification)
    target = node.case(decision.label)
    # The escalation's threshold the confidence was under, or the highest one it cleared.
    threshold = 0.0
    degraded = ""
    for escalation in node.escalations:
        threshold = escalation.below
        if decision.confidence < escalation.below:
            degraded = flow.budget.fits(escalation.to, run)
            if degraded:
                flow.budget.degrade(escalation.to, degraded, run)
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

    def attributes() -> dict[str, AttributeValue]:
        found: dict[str, AttributeValue] = {
            "tutti.route.label": decision.label,
            "tutti.route.confidence": decision.confidence,
            "tutti.route.case": target.label,
        }
        if node.escalations:
            found["tutti.escalate.confidence"] = decision.confidence
            found["tutti.escalate.threshold"] = threshold
            found["tutti.escalate.tier"] = target.label
        return found

    run.decide(
        Decision(
            node=node.label,
            kind=Decision.KIND_ROUTE,
            source=node.by.label,
            label=decision.label,
            confidence=decision.confidence,
            threshold=threshold,
            taken=target.label,
            reason=degraded,
            degraded=bool(degraded),
        ),
        attributes,
    )
    return await flow.node(target, payload, run)
