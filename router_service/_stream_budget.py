"""What one request stream may hold at once: requests in flight and answers not yet written."""

from __future__ import annotations

import asyncio

__all__ = ["StreamBudget"]

# Requests one RouteStream routes at once.
MAX_STREAM_IN_FLIGHT = 64
# Bytes of requests and of answers not yet written that one stream may hold. Small requests
# (tickets of a few hundred bytes) never meet it; 100 KB ones go 10 at a time.
MAX_STREAM_BYTES = 1024 * 1024


class StreamBudget:
    """Counts a stream's requests and bytes from when it is read until its answer is written.

    A request is admitted while the stream holds fewer than `max_requests`
    and fewer than `max_bytes` (one bigger than the whole budget goes alone).
    Its answer's bytes are added without waiting, so that requests in flight
    can always finish: the bound is soft by at most the answers of the
    requests already admitted. A client that stops reading stops its answers
    from being written, so it holds its budget and is read no further.
    """

    def __init__(
        self, max_requests: int = MAX_STREAM_IN_FLIGHT, max_bytes: int = MAX_STREAM_BYTES
    ) -> None:
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self.requests = 0
        self.bytes = 0
        self._changed = asyncio.Condition()

    def _room_for(self, size: int) -> bool:
        if self.requests == 0:
            return True
        return self.requests < self.max_requests and self.bytes + size <= self.max_bytes

    async def admit(self, size: int) -> None:
        """Wait until the stream can hold one more request of `size` bytes, and count it."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._room_for(size))
            self.requests += 1
            self.bytes += size

    def add(self, size: int) -> None:
        """Count an answer's bytes on top of its request's (never waits)."""
        self.bytes += size

    async def release(self, size: int) -> None:
        """A request's answer was written (or it was refused): give back all it held."""
        async with self._changed:
            self.requests -= 1
            self.bytes -= size
            self._changed.notify_all()
