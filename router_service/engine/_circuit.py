"""Each stage's circuit breaker, and the status codes that count against it."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

import grpc

from router_service.plan import CircuitPolicy

__all__ = ["FAILURE_CODES", "Circuit"]

# Codes that count against a stage's circuit: the stage, not the request, is at fault.
FAILURE_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


class Circuit:
    """A circuit breaker for one stage's target. Not thread-safe: one event loop uses it."""

    CLOSED, HALF_OPEN, OPEN = 0, 1, 2
    NAMES = ("closed", "half-open", "open")

    def __init__(self, policy: CircuitPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self.state = self.CLOSED
        self.opened_at = 0.0
        self.opened = 0  # how many times it opened
        self._in_a_row = 0
        self._recent: collections.deque[bool] = collections.deque(maxlen=policy.window)
        self._failed = 0  # failures in _recent, kept as it changes
        self._probing = False

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open, only one probe at a time."""
        if self.state == self.OPEN:
            if self.clock() - self.opened_at < self.policy.open_s:
                return False
            self.state = self.HALF_OPEN
            self._probing = False
        if self.state == self.HALF_OPEN:
            if self._probing:
                return False
            self._probing = True
        return True

    def retry_in_s(self) -> float:
        return max(0.0, self.policy.open_s - (self.clock() - self.opened_at))

    def abandon(self) -> None:
        """A call it let through ended with no verdict (its caller cancelled it)."""
        if self.state == self.HALF_OPEN:
            self._probing = False

    def record(self, ok: bool) -> None:
        if self.state == self.HALF_OPEN:
            self._probing = False
            if ok:
                self.state = self.CLOSED
                self._forget()
            else:
                self._open()
            return
        recent = self._recent
        if len(recent) == self.policy.window and not recent[0]:
            self._failed -= 1  # the oldest outcome is about to drop out
        recent.append(ok)
        if ok:
            self._in_a_row = 0
            return
        self._failed += 1
        self._in_a_row += 1
        full = len(recent) == self.policy.window
        if self._in_a_row >= self.policy.failures or (
            full and self._failed / len(recent) >= self.policy.error_rate
        ):
            self._open()

    def _forget(self) -> None:
        self._in_a_row = 0
        self._failed = 0
        self._recent.clear()

    def _open(self) -> None:
        self.state = self.OPEN
        self.opened_at = self.clock()
        self.opened += 1
        self._forget()
