"""Per-stage result cache: content keys, an in-process LRU and a shared Redis backend.

A stage's output is cached under a key over (stage, model version, input type, input
bytes), for the TTL its `cache:` policy declares. Only successful outputs are stored:
errors, invalid outputs and deadline misses are never put, which is the caller's rule
to keep. The cache never fails a request: a Redis outage reads as misses and skipped
writes, with one warning per outage and an info line once Redis answers again.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

__all__ = [
    "BACKENDS",
    "KEY_PREFIX",
    "MemoryCache",
    "RedisCache",
    "StageCache",
    "StageCaches",
    "build_caches",
    "cache_key",
]

log = logging.getLogger("tutti.router.cache")

KEY_PREFIX = "tutti:stage:"
BACKENDS = ("memory", "redis")

Clock = Callable[[], float]


def cache_key(stage: str, model_version: str, payload_type_url: str, payload_bytes: bytes) -> str:
    """The cache key of one stage call: `tutti:stage:` and a sha256 over its inputs."""
    digest = hashlib.sha256()
    # Length-prefixing each part keeps ("ab", "c") and ("a", "bc") apart.
    for part in (
        stage.encode(),
        model_version.encode(),
        payload_type_url.encode(),
        payload_bytes,
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return KEY_PREFIX + digest.hexdigest()


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
        self._clock = clock
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
        if expires_at <= self._clock():
            del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return value

    async def put(self, key: str, value: bytes, ttl_s: float) -> None:
        self._entries[key] = (self._clock() + ttl_s, value)
        self._entries.move_to_end(key)
        # Expired entries nobody reads again age out here, as the least recently used.
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def close(self) -> None:
        self._entries.clear()


class RedisCache:
    """A Redis shared by every router replica; an outage degrades to no cache."""

    def __init__(
        self,
        url: str,
        timeout_s: float = 0.25,
        retry_after_s: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.url = url
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self._shown_url = _without_password(url)
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._down = False
        self._next_try = 0.0
        # Short socket timeouts so a dead Redis costs a request at most a fraction of a
        # second; one immediate retry on a connection error only, so a pooled
        # connection that went stale across a Redis restart is replaced, while a
        # black-holed host is not waited for twice.
        self._client = Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )

    @property
    def name(self) -> str:
        return "redis"

    async def get(self, key: str) -> bytes | None:
        if self._resting():
            self.misses += 1
            return None
        try:
            value = await self._client.get(key)
        except (RedisError, OSError) as error:
            self._failed(error)
            return None
        self._answered()
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        # The client never decodes responses, so this is bytes; the check is for mypy.
        return value if isinstance(value, bytes) else value.encode()

    async def put(self, key: str, value: bytes, ttl_s: float) -> None:
        if self._resting():
            return
        try:
            await self._client.set(key, value, px=max(1, math.ceil(ttl_s * 1000)))
        except (RedisError, OSError) as error:
            self._failed(error)
            return
        self._answered()

    async def close(self) -> None:
        try:
            await self._client.aclose()
        except (RedisError, OSError) as error:
            log.debug("closing the stage cache at %s: %s", self._shown_url, error)

    def _resting(self) -> bool:
        # After a failure, leave Redis alone for a moment rather than pay a timeout
        # on every request while it is down.
        return self._down and self._clock() < self._next_try

    def _failed(self, error: Exception) -> None:
        self.errors += 1
        self._next_try = self._clock() + self._retry_after_s
        if not self._down:
            self._down = True
            log.warning(
                "stage cache: Redis at %s failed, serving without cache until it answers: %s",
                self._shown_url,
                error,
            )

    def _answered(self) -> None:
        if self._down:
            self._down = False
            log.info("stage cache: Redis at %s answers again", self._shown_url)


class StageCaches:
    """The cache of each cached stage of a router: its TTL and the store its entries go to."""

    def __init__(self, ttl_s: Mapping[str, float], stores: Mapping[str, StageCache]) -> None:
        if ttl_s.keys() != stores.keys():
            raise ValueError("every cached stage needs both a TTL and a store")
        self._ttl_s = dict(ttl_s)
        self._stores = dict(stores)

    def __contains__(self, stage: object) -> bool:
        return stage in self._stores

    @property
    def stages(self) -> tuple[str, ...]:
        return tuple(self._stores)

    def ttl_s(self, stage: str) -> float:
        return self._ttl_s[stage]

    def store(self, stage: str) -> StageCache:
        return self._stores[stage]

    async def get(self, stage: str, key: str) -> bytes | None:
        """The cached output, or None on a miss or for a stage without a cache."""
        store = self._stores.get(stage)
        if store is None:
            return None
        return await store.get(key)

    async def put(self, stage: str, key: str, value: bytes) -> None:
        """Keep a successful output for the stage's TTL; a stage without a cache keeps nothing."""
        store = self._stores.get(stage)
        if store is None:
            return
        await store.put(key, value, self._ttl_s[stage])

    async def close(self) -> None:
        # Stages on Redis share one client: close each store once.
        closed: set[int] = set()
        for store in self._stores.values():
            if id(store) not in closed:
                closed.add(id(store))
                await store.close()


def build_caches(
    policies: Mapping[str, tuple[float, int]],
    backend: str = "memory",
    url: str | None = None,
    clock: Clock = time.monotonic,
) -> StageCaches:
    """Caches for the stages in `policies` (stage -> (ttl_s, max_entries)).

    On "memory" each stage gets its own LRU of max_entries. On "redis" every stage
    shares one client at `url`; Redis's own maxmemory policy bounds its size, so
    max_entries does not apply there.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown cache backend '{backend}'; expected one of {BACKENDS}")
    for stage, (ttl_s, max_entries) in policies.items():
        if not ttl_s > 0:
            raise ValueError(f"stage '{stage}': cache ttl_s must be above 0, got {ttl_s}")
        if max_entries < 1:
            raise ValueError(f"stage '{stage}': cache max_entries must be at least 1")
    ttl = {stage: ttl_s for stage, (ttl_s, _) in policies.items()}
    stores: dict[str, StageCache] = {}
    if backend == "redis":
        if not url:
            raise ValueError("the redis cache backend needs a url such as redis://127.0.0.1:6379/0")
        if policies:
            shared = RedisCache(url, clock=clock)
            stores = dict.fromkeys(policies, shared)
    else:
        stores = {stage: MemoryCache(entries, clock) for stage, (_, entries) in policies.items()}
    return StageCaches(ttl, stores)


def _without_password(url: str) -> str:
    """The URL as it may appear in a log: any password masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
