"""Waiting in tests for something to become true: polled against a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(
    condition: Callable[[], bool], within_s: float = 10.0, every_s: float = 0.01
) -> None:
    """Return once `condition()` holds; fail the test if it still does not after `within_s`."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"still not true after {within_s:g} s: {condition.__doc__ or condition}"
            )
        await asyncio.sleep(every_s)
