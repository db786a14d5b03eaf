"""The `escalate` node's coroutine: keep a confident answer, hand an unsure one to its tier."""

from __future__ import annotations

from google.protobuf import any_pb2

from router_service.engine._flow import Flow
from router_service.engine._run import Result, Run
from router_service.plan import EscalateNode

__all__ = ["run_escalate"]


async def run_escalate(flow: Flow, node: EscalateNode, payload: any_pb2.Any, run: Run) -> Result:
    result = await flow.node(node.source, payload, run)
    confidence = flow.payloads.confidence(result, node.output_type, node.field, node.source.label)
    for tier in node.tiers:
        if confidence < tier.below:
            reason = flow.budget.fits(tier.to, run)
            if reason:
                flow.budget.degrade(tier.to, reason, run)
                return result
            run.path.append(f"escalate@{confidence:.2f}<{tier.below:g}->{tier.to.label}")
            return await flow.node(tier.to, payload, run)
    return result
