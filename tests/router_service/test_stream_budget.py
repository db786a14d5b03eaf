"""A request stream's budget: requests and bytes held from read until written."""

from __future__ import annotations

import asyncio

from router_service._stream_budget import StreamBudget


async def _admitted(budget: StreamBudget, size: int) -> bool:
    """Whether a request of `size` is admitted without anything being released."""
    try:
        await asyncio.wait_for(budget.admit(size), timeout=0.05)
    except TimeoutError:
        return False
    return True


async def test_requests_wait_once_the_count_is_reached() -> None:
    budget = StreamBudget(max_requests=3, max_bytes=10**9)
    assert [await _admitted(budget, 1) for _ in range(4)] == [True, True, True, False]
    await budget.release(1)
    assert await _admitted(budget, 1)


async def test_bytes_bound_requests_and_the_answers_not_yet_written() -> None:
    budget = StreamBudget(max_requests=100, max_bytes=1000)
    assert await _admitted(budget, 400)
    assert await _admitted(budget, 400)
    assert not await _admitted(budget, 400)
    budget.add(150)  # an answer of the first request, not yet written: never waits
    await budget.release(400)  # the second request's answer was written
    assert budget.bytes == 550
    assert not await _admitted(budget, 500)
    assert await _admitted(budget, 450)


async def test_a_request_bigger_than_the_budget_goes_alone() -> None:
    budget = StreamBudget(max_requests=10, max_bytes=100)
    assert await _admitted(budget, 5000)
    assert not await _admitted(budget, 1)
    await budget.release(5000)
    assert await _admitted(budget, 1)


async def test_a_release_wakes_the_waiting_reader() -> None:
    budget = StreamBudget(max_requests=1, max_bytes=100)
    await budget.admit(10)
    waiting = asyncio.ensure_future(budget.admit(10))
    await asyncio.sleep(0)
    assert not waiting.done()
    await budget.release(10)
    await asyncio.wait_for(waiting, timeout=5)
    assert (budget.requests, budget.bytes) == (1, 10)
