"""The load generator: latency at 1 in flight, throughput at N in flight, loopback only."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Call = Callable[[], Awaitable[object]]


@dataclass
class LoadResult:
    p50_ms: float
    p99_ms: float
    rps: float
    latency_requests: int
    throughput_requests: int


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def latency(call: Call, warmup: int, n: int) -> tuple[float, float]:
    """p50 and p99 in ms over `n` requests sent one at a time, after `warmup`."""
    for _ in range(warmup):
        await call()
    samples: list[float] = []
    clock = time.perf_counter
    for _ in range(n):
        t0 = clock()
        await call()
        samples.append((clock() - t0) * 1000.0)
    return statistics.median(samples), percentile(samples, 0.99)


async def throughput(call: Call, n: int, in_flight: int) -> float:
    """Requests per second completing `n` requests with `in_flight` outstanding."""
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return n / (time.perf_counter() - t0)
