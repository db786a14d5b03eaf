"""Retrying an HTTP model call within a deadline: backoff with jitter, or the server's Retry-After."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc

from tutti.errors import StageCallError

if TYPE_CHECKING:
    import httpx

__all__ = ["RetryPolicy", "Retryable", "attempts", "retry_after"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    def wait_s(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before attempt `attempt + 1`: the server's Retry-After, else backoff with jitter."""
        if retry_after is not None:
            return retry_after
        return random.uniform(0, min(self.max_backoff_s, self.backoff_s * 2**attempt))


class Retryable(Exception):
    """An attempt failed in a way another attempt may not: the status to report if none is left."""

    def __init__(self, code: grpc.StatusCode, detail: str, retry_after: float | None) -> None:
        super().__init__(detail)
        self.code = code
        self.retry_after = retry_after


@contextlib.asynccontextmanager
async def attempts(
    send: Callable[[], Awaitable[httpx.Response]],
    policy: RetryPolicy,
    deadline: float,
    stage: str,
) -> AsyncIterator[httpx.Response]:
    """The first OK response of `send()` (closed on exit), after as many tries as allowed.

    `send` raises Retryable for what may pass (429, 5xx, a refused connection).
    A wait that would end past `deadline` (a time.monotonic() value) is not
    started: the call fails at once with the last attempt's status.
    """
    response: httpx.Response | None = None
    for attempt in range(policy.attempts):
        try:
            response = await send()
            break
        except Retryable as exc:
            last = exc
        wait = policy.wait_s(attempt, last.retry_after)
        if attempt + 1 == policy.attempts or wait >= deadline - time.monotonic():
            tries = f"after {attempt + 1} attempt{'s' if attempt else ''}"
            raise StageCallError(stage, last.code, f"{last} ({tries})")
        log.info("stage '%s': %s; retrying in %.2fs", stage, last, wait)
        await asyncio.sleep(wait)
    assert response is not None  # the loop breaks with a response or raises
    try:
        yield response
    finally:
        await response.aclose()


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, from delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
