"""The `escalate` node's coroutine: keep a confident answer, hand an unsure one to its tier."""

from __future__ import annotations

from google.protobuf import any_pb2

from router_service.engine._flow import Flow
from router_service.engine._run import Result, Run
from router_service.plan import EscalateNode
from tutti.v1 import router_pb2

__all__ = ["run_escalate"]

Decision = router_pb2.Decision


async def run_escalate(flow: Flow, node: EscalateNode, payload: any_pb2.Any, run: Run) -> Result:
    result = await flow.node(node.source, payload, run)
    confidence = flow.payloads.confidence(result, node.output_type, node.field, node.source.label)
    # The tier's threshold the confidence was under, or the highest one it cleared.
    threshold = 0.0
    for tier in node.tiers:
        threshold = tier.below
        if confidence < tier.below:
            reason = flow.budget.fits(tier.to, run)
            if reason:
                flow.budget.degrade(tier.to, reason, run)
                _decided(node, run, confidence, threshold, node.source.label, reason)
                return result
            run.path.append(f"escalate@{confidence:.2f}<{tier.below:g}->{tier.to.label}")
            _decided(node, run, confidence, threshold, tier.to.label)
            return await flow.node(tier.to, payload, run)
    _decided(node, run, confidence, threshold, node.source.label)
    return result


def _decided(
    node: EscalateNode,
    run: Run,
    confidence: float,
    threshold: float,
    taken: str,
    degraded: str = "",
) -> None:
    """Record which tier (or the source, kept) answers, in the execution and on the node's span."""
    run.decide(
        Decision(
            node=node.label,
            kind=Decision.KIND_ESCALATE,
            source=node.source.label,
            confidence=confidence,
            threshold=threshold,
            taken=taken,
            reason=degraded,
            degraded=bool(degraded),
        ),
        lambda: {
            "tutti.escalate.confidence": confidence,
            "tutti.escalate.threshold": threshold,
            "tutti.escalate.tier": taken,
        },
    )
