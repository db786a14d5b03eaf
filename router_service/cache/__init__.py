"""Per-stage result cache: content keys, an in-process LRU and a shared Redis backend.

A stage's output is cached under a key over (stage, model version, input type, input
bytes), for the TTL its `cache:` policy declares. Only successful outputs are stored:
errors, invalid outputs and deadline misses are never put, which is the caller's rule
to keep. The cache never fails a request: a Redis outage reads as misses and skipped
writes, with one warning per outage and an info line once Redis answers again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from router_service.cache._key import KEY_PREFIX, cache_key
from router_service.cache._memory import MemoryCache, StageCache
from router_service.cache._stages import BACKENDS, StageCaches, build_caches

if TYPE_CHECKING:
    from router_service.cache._redis import RedisCache

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


def __getattr__(name: str) -> Any:
    # RedisCache needs the redis extra; the base install imports this package without it.
    if name == "RedisCache":
        from router_service.cache._redis import RedisCache

        return RedisCache
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
