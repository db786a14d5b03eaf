"""The stage cache: content keys, the in-process LRU, and Redis shared, expiring and down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from redis.asyncio import Redis

from router_service.cache import (
    KEY_PREFIX,
    MemoryCache,
    RedisCache,
    build_caches,
    cache_key,
)

if TYPE_CHECKING:
    from tests.redis_server import RedisServer

# Registers the `redis_server` and `redis_url` fixtures; importing the module here instead
# would keep pytest from rewriting its asserts.
pytest_plugins = ["tests.redis_server"]

TEXT = "type.googleapis.com/tutti.v1.Text"
LOGGER = "tutti.router.cache"


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def raw_redis(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client on the test's redis-server, to look behind the cache."""
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


# --- keys ---


def test_key_differs_for_each_part_of_a_call() -> None:
    base = cache_key("triage", "v1", TEXT, b"hello")
    others = {
        cache_key("escalate", "v1", TEXT, b"hello"),
        cache_key("triage", "v2", TEXT, b"hello"),
        cache_key("triage", "v1", "type.googleapis.com/tutti.v1.Label", b"hello"),
        cache_key("triage", "v1", TEXT, b"hello!"),
    }
    assert base not in others
    assert len(others) == 4


def test_key_is_stable_and_namespaced() -> None:
    key = cache_key("triage", "v1", TEXT, b"hello")
    assert key == cache_key("triage", "v1", TEXT, b"hello")
    assert key.startswith(KEY_PREFIX)
    assert len(key) == len(KEY_PREFIX) + 64


def test_key_parts_cannot_run_into_each_other() -> None:
    """Moving a character across a part boundary gives another key."""
    assert cache_key("ab", "c", TEXT, b"x") != cache_key("a", "bc", TEXT, b"x")
    assert cache_key("s", "v", "t", b"ab") != cache_key("s", "v", "ta", b"b")


# --- memory ---


async def test_memory_hit_and_miss_are_counted() -> None:
    cache = MemoryCache(max_entries=4)
    await cache.put("k", b"out", ttl_s=10)
    assert await cache.get("k") == b"out"
    assert await cache.get("other") is None
    assert (cache.name, cache.hits, cache.misses, cache.errors) == ("memory", 1, 1, 0)


async def test_memory_entry_expires_after_its_ttl() -> None:
    clock = FakeClock()
    cache = MemoryCache(max_entries=4, clock=clock)
    await cache.put("k", b"out", ttl_s=5)
    clock.advance(4.9)
    assert await cache.get("k") == b"out"
    clock.advance(0.1)
    assert await cache.get("k") is None
    assert len(cache) == 0, "an expired entry is dropped when read"


async def test_memory_evicts_the_least_recently_used_beyond_max_entries() -> None:
    cache = MemoryCache(max_entries=2)
    await cache.put("a", b"1", ttl_s=10)
    await cache.put("b", b"2", ttl_s=10)
    await cache.put("c", b"3", ttl_s=10)
    assert len(cache) == 2
    assert await cache.get("a") is None
    assert await cache.get("b") == b"2"
    assert await cache.get("c") == b"3"


async def test_memory_read_refreshes_recency() -> None:
    cache = MemoryCache(max_entries=2)
    await cache.put("a", b"1", ttl_s=10)
    await cache.put("b", b"2", ttl_s=10)
    assert await cache.get("a") == b"1"
    await cache.put("c", b"3", ttl_s=10)
    assert await cache.get("a") == b"1"
    assert await cache.get("b") is None


def test_memory_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryCache(max_entries=0)


# --- redis ---


async def test_redis_round_trip(redis_url: str) -> None:
    cache = RedisCache(redis_url)
    try:
        key = cache_key("triage", "v1", TEXT, b"hello")
        assert await cache.get(key) is None
        await cache.put(key, b"\x00out\xff", ttl_s=30)
        assert await cache.get(key) == b"\x00out\xff"
        assert (cache.name, cache.hits, cache.misses, cache.errors) == ("redis", 1, 1, 0)
    finally:
        await cache.close()


async def test_redis_entry_carries_its_ttl_and_expires(redis_url: str, raw_redis: Redis) -> None:
    cache = RedisCache(redis_url)
    try:
        await cache.put("long", b"v", ttl_s=30)
        assert 0 < await raw_redis.pttl("long") <= 30_000
        await cache.put("short", b"v", ttl_s=0.05)
        for _ in range(100):
            if await cache.get("short") is None:
                break
            await asyncio.sleep(0.02)
        assert await cache.get("short") is None
        assert await cache.get("long") == b"v"
    finally:
        await cache.close()


async def test_redis_is_shared_between_router_replicas(redis_url: str) -> None:
    first, second = RedisCache(redis_url), RedisCache(redis_url)
    try:
        await first.put("k", b"from first", ttl_s=30)
        assert await second.get("k") == b"from first"
    finally:
        await first.close()
        await second.close()


async def test_redis_down_mid_run_degrades_to_no_cache_and_recovers(
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stopping Redis turns reads into misses, never into errors; a restart brings it back."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    cache = RedisCache(redis_server.url, retry_after_s=0)
    try:
        await cache.put("k", b"v", ttl_s=30)
        assert await cache.get("k") == b"v"

        redis_server.stop()
        for _ in range(3):
            assert await cache.get("k") is None
            await cache.put("k", b"v", ttl_s=30)
        assert cache.errors == 6
        assert cache.hits == 1
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        assert redis_server.url in warnings[0].getMessage()

        redis_server.start()
        await cache.put("k", b"again", ttl_s=30)
        assert await cache.get("k") == b"again"
        assert cache.errors == 6
        infos = [r for r in caplog.records if r.levelno == logging.INFO]
        assert len(infos) == 1 and "again" in infos[0].getMessage()
    finally:
        await cache.close()


async def test_redis_down_is_left_alone_until_retry_after(
    redis_server: RedisServer,
) -> None:
    """After a failure the cache skips Redis for a moment instead of failing every request."""
    clock = FakeClock()
    cache = RedisCache(redis_server.url, retry_after_s=1.0, clock=clock)
    try:
        redis_server.stop()
        assert await cache.get("k") is None
        assert cache.errors == 1
        await cache.put("k", b"v", ttl_s=30)
        assert await cache.get("k") is None
        assert cache.errors == 1, "no call while resting"

        redis_server.start()
        assert await cache.get("k") is None
        clock.advance(1.0)
        await cache.put("k", b"v", ttl_s=30)
        assert await cache.get("k") == b"v"
        assert cache.errors == 1
    finally:
        await cache.close()


async def test_redis_password_stays_out_of_the_log(caplog: pytest.LogCaptureFixture) -> None:
    # Port 1 on loopback refuses at once.
    cache = RedisCache("redis://:hunter2@127.0.0.1:1/0")
    try:
        assert await cache.get("k") is None
    finally:
        await cache.close()
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "hunter2" not in record.getMessage()
    assert "127.0.0.1:1" in record.getMessage()


# --- per-stage caches ---


async def test_each_stage_keeps_its_own_ttl() -> None:
    clock = FakeClock()
    caches = build_caches({"triage": (1.0, 10), "strong": (60.0, 10)}, clock=clock)
    await caches.put("triage", "k1", b"label")
    await caches.put("strong", "k2", b"answer")
    clock.advance(5)
    assert await caches.get("triage", "k1") is None
    assert await caches.get("strong", "k2") == b"answer"


async def test_each_stage_keeps_its_own_max_entries() -> None:
    caches = build_caches({"small": (60.0, 1), "large": (60.0, 10)})
    for i in range(3):
        await caches.put("small", f"s{i}", b"x")
        await caches.put("large", f"l{i}", b"x")
    assert [await caches.get("small", f"s{i}") for i in range(3)] == [None, None, b"x"]
    assert [await caches.get("large", f"l{i}") for i in range(3)] == [b"x"] * 3


async def test_a_stage_without_a_cache_policy_keeps_nothing() -> None:
    caches = build_caches({"triage": (60.0, 10)})
    await caches.put("uncached", "k", b"x")
    assert "uncached" not in caches
    assert await caches.get("uncached", "k") is None


async def test_stages_on_redis_share_one_client_with_their_own_ttls(
    redis_url: str, raw_redis: Redis
) -> None:
    caches = build_caches({"triage": (2.0, 10), "strong": (600.0, 10)}, "redis", redis_url)
    try:
        assert caches.store("triage") is caches.store("strong")
        assert caches.store("triage").name == "redis"
        await caches.put("triage", "k1", b"label")
        await caches.put("strong", "k2", b"answer")
        assert 0 < await raw_redis.pttl("k1") <= 2_000
        assert 2_000 < await raw_redis.pttl("k2") <= 600_000
        assert await caches.get("strong", "k2") == b"answer"
    finally:
        await caches.close()


def test_build_caches_rejects_a_bad_backend_or_missing_url() -> None:
    with pytest.raises(ValueError, match="unknown cache backend"):
        build_caches({}, "memcached")
    with pytest.raises(ValueError, match="needs a url"):
        build_caches({"triage": (60.0, 10)}, "redis")
    with pytest.raises(ValueError, match="ttl_s"):
        build_caches({"triage": (0.0, 10)})
