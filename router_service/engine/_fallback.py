"""The `fallback` node's coroutine: the first step's answer, or the next one's when it fails."""

from __future__ import annotations

from google.protobuf import any_pb2

from router_service.engine._flow import Flow
from router_service.engine._run import Result, Run
from router_service.plan import FallbackNode
from tutti.errors import FanoutQuorumError, StageError
from tutti.v1 import router_pb2

__all__ = ["run_fallback"]

Decision = router_pb2.Decision


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
            following = node.steps[index + 1].label
            run.path.append(f"fallback:{step.label} failed ({exc.code.name})->{following}")
            _decided(node, run, step.label, _why(exc), following)
    raise AssertionError("unreachable: the last fallback step returns or raises")


def _why(exc: StageError | FanoutQuorumError) -> str:
    """The failure's status and message, the status named once."""
    text = str(exc)
    return text if exc.code.name in text else f"{exc.code.name}: {text}"


def _decided(node: FallbackNode, run: Run, source: str, reason: str, taken: str) -> None:
    """Record that the fallback left `source` for `taken`, in the execution and on its span."""
    run.decide(
        Decision(
            node=node.label, kind=Decision.KIND_FALLBACK, source=source, taken=taken, reason=reason
        ),
        lambda: {
            "tutti.fallback.reason": reason,
            "tutti.fallback.to": taken,
            "tutti.fallback.from": source,
        },
    )
