"""A Redis shared by router replicas; an outage reads as misses and skipped writes."""

from __future__ import annotations

import logging
import math
import time
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from router_service.cache._memory import Clock

__all__ = ["RedisCache"]

log = logging.getLogger("tutti.router.cache")


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
