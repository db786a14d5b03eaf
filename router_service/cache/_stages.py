"""Each cached stage's TTL and store, built from the composition's cache policies."""

from __future__ import annotations

import time
from collections.abc import Mapping

from router_service.cache._memory import Clock, MemoryCache, StageCache

__all__ = ["BACKENDS", "StageCaches", "build_caches"]

BACKENDS = ("memory", "redis")


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
            # Imported here: the redis client is an extra, needed only by a shared cache.
            from router_service.cache._redis import RedisCache

            shared = RedisCache(url, clock=clock)
            stores = dict.fromkeys(policies, shared)
    else:
        stores = {stage: MemoryCache(entries, clock) for stage, (_, entries) in policies.items()}
    return StageCaches(ttl, stores)
