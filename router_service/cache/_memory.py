"""Where cached outputs live: the StageCache protocol and the in-process LRU."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "MemoryCache", "StageCache"]

Clock = Callable[[], float]


class StageCache(Protocol):
    """Where cached stage outputs live; every method answers without raising."""

    hits: int
    misses: int
    errors: int

    @property
    def name(self) -> str: ...

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def close(self) -> None: ...


class MemoryCache:
    """An in-process LRU with per-entry expiry, for one stage of one router."""

    def __init__(self, max_entries: int, clock: Clock = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self.errors = 0
        # Public so that a test (or a caller) can move time on a running cache.
        self.clock = clock
        # key -> (expires_at, value), least recently used first. No lock: one event loop.
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    @property
    def name(self) -> str:
        return "memory"

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        expires_at, value = entry
        if expires_at <= self.clock():
            del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return value

    async def put(self, key: str, value: bytes, ttl_s: float) -> None:
        self._entries[key] = (self.clock() + ttl_s, value)
        self._entries.move_to_end(key)
        # Expired entries nobody reads again age out here, as the least recently used.
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def close(self) -> None:
        self._entries.clear()
