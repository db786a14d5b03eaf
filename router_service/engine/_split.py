"""The `split` node's coroutine: one branch, drawn by weight, answers."""

from __future__ import annotations

import bisect

from google.protobuf import any_pb2

from router_service.engine._flow import Flow
from router_service.engine._run import Result, Run
from router_service.plan import SplitNode
from tutti.v1 import router_pb2

__all__ = ["run_split"]

Decision = router_pb2.Decision


async def run_split(flow: Flow, node: SplitNode, payload: any_pb2.Any, run: Run) -> Result:
    branch = node.branches[bisect.bisect_right(node.cumulative, flow.rng.random())]
    run.path.append(f"split->{branch.label}")
    run.decide(
        Decision(node=node.label, kind=Decision.KIND_SPLIT, taken=branch.label),
        lambda: {"tutti.split.arm": branch.label},
    )
    return await flow.node(branch, payload, run)
