"""Hedging one stage call: more copies while none has answered; the first success wins."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from router_service.engine._client import StageClient, StageClientError
from router_service.plan import HedgePolicy
from tutti.v1 import stage_pb2

__all__ = ["hedged"]


async def hedged(
    client: StageClient,
    policy: HedgePolicy,
    request: stage_pb2.InvokeRequest,
    timeout: float | None,
    answered_by_a_copy: Callable[[], None],
) -> stage_pb2.InvokeResponse:
    """Send the call; while no answer came, another copy every `delay_ms`, up to `attempts`.

    The first success wins and the others are cancelled (the client ends
    their calls); if every copy fails, the last failure is raised. grpc's C
    core has no hedging, so it is done here. `answered_by_a_copy` is told
    when the answer came after a second copy went out.
    """
    delay = policy.delay_ms / 1000.0
    calls: list[asyncio.Future[stage_pb2.InvokeResponse]] = []
    failure: StageClientError | None = None
    try:
        while True:
            if len(calls) < policy.attempts:
                calls.append(asyncio.ensure_future(client.invoke(request, timeout)))
            pending = [c for c in calls if not c.done()]
            wait = delay if len(calls) < policy.attempts else None
            if pending:
                await asyncio.wait(pending, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            for call in calls:
                if call.done() and not call.cancelled():
                    exc = call.exception()
                    if exc is None:
                        if len(calls) > 1:
                            answered_by_a_copy()
                        return call.result()
                    if not isinstance(exc, StageClientError):
                        raise exc
                    failure = exc
            if len(calls) >= policy.attempts and all(c.done() for c in calls):
                assert failure is not None
                raise failure
    finally:
        for call in calls:
            call.cancel()
