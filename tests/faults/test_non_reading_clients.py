"""Clients that send into RouteStream and never read: bounded memory, and the router serves on.

A real router process over a real echo specialist, on loopback. Each client
sends 100 KB requests as fast as grpc lets it and reads nothing, so the
router's answers pile up unless it stops reading; we check that it stops,
that its memory stays under a bound, that it returns close to where it was
once the clients leave, and that a unary Route is answered throughout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

from grpc import aio

from tests.faults.test_faults import router, specialist
from tests.router_service.test_flow_nodes import output_text, text_request
from tutti.v1 import router_pb2, router_pb2_grpc

CLIENTS = 20
REQUEST_BYTES = 100_000
# Requests a client would send if the router read everything: 50 MB each, 1 GB in all.
OFFERED = 500
# What a non-reading client may cost: the stream's budget (1 MB of requests and answers not
# yet written) plus grpc's windows and the copies on the way. 40 clients measured 2.5-4.5 MB
# each; the bound leaves room for a noisy machine, and is far below the 1 GB on offer.
PER_CLIENT_MB = 8.0
# Once they leave, freed memory goes back to the system (tutti.heap trims every 10 s); what
# stays is the router's working set and the allocator's own.
AFTER_MB = 90.0
SETTLE_S = 30.0


async def _stalled(counts: list[int], timeout_s: float = 60.0) -> None:
    """Until no client's request count has moved for a second (or every request was taken)."""
    deadline = time.monotonic() + timeout_s
    before = list(counts)
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        if counts == before or all(c >= OFFERED for c in counts):
            return
        before = list(counts)


async def test_clients_that_never_read_cost_bounded_memory_and_are_read_no_further(
    tmp_path: Path,
) -> None:
    stage = specialist(tmp_path, "echo", "echo")
    front = router(tmp_path, f'"{stage.address}"')
    channels = [aio.insecure_channel(front.address) for _ in range(CLIENTS + 1)]
    try:
        probe = router_pb2_grpc.RouterServiceStub(channels[-1])
        assert output_text(await probe.Route(text_request("warm"), timeout=10)) == "warm"
        baseline = front.rss_mb()
        counts = [0] * CLIENTS

        async def requests(i: int) -> AsyncIterator[router_pb2.RouteStreamRequest]:
            for k in range(OFFERED):
                counts[i] = k + 1
                yield router_pb2.RouteStreamRequest(
                    request_id=f"{i}-{k}", request=text_request("x" * REQUEST_BYTES)
                )

        calls = [
            router_pb2_grpc.RouterServiceStub(channels[i]).RouteStream(requests(i))
            for i in range(CLIENTS)
        ]
        waits = [asyncio.ensure_future(call.initial_metadata()) for call in calls]
        await _stalled(counts)
        peak = front.rss_mb()
        # A unary call is answered while the streams hold their budgets.
        assert output_text(await probe.Route(text_request("during"), timeout=10)) == "during"
        taken = max(counts)
        print(
            f"\n{CLIENTS} non-reading clients: router {baseline:.1f} -> {peak:.1f} MB, "
            f"at most {taken} of {OFFERED} requests taken from one client"
        )
        assert taken < OFFERED // 5, "the router kept reading clients that never read"
        assert peak - baseline < CLIENTS * PER_CLIENT_MB, (baseline, peak)

        for call in calls:
            call.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        for channel in channels[:-1]:
            await channel.close()
        deadline = time.monotonic() + SETTLE_S
        while front.rss_mb() - baseline >= AFTER_MB and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        after = front.rss_mb()
        print(f"after they left: {after:.1f} MB")
        assert after - baseline < AFTER_MB, (baseline, peak, after)
        assert output_text(await probe.Route(text_request("after"), timeout=10)) == "after"
    finally:
        await channels[-1].close()
        front.stop()
        stage.stop()
    assert front.process.returncode == 0
