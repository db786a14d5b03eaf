"""The stage result cache inside real requests: hits cost nothing, errors are never cached, Redis may fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from grpc import aio

from router_service.cache import MemoryCache
from tests.conftest import InLoopMesh
from tests.router_service.test_flow_nodes import output_text, text_request
from tutti.v1 import router_pb2

pytest_plugins = ["tests.redis_server"]
if TYPE_CHECKING:
    from tests.redis_server import RedisServer

CACHED = """
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  model:
    endpoint: x
    price: {per_call_usd: 0.01}
    cache: {ttl_s: 0.5, max_entries: 100}
    serve: {backend: python, factory: "tests.stages:suffix", options: {text: "!"}}
  boom:
    endpoint: x
    cache: {ttl_s: 60}
    serve: {backend: python, factory: "tests.stages:failing"}
flow: model
"""


def _run(response: router_pb2.RouteResponse) -> router_pb2.StageRun:
    return response.execution.stages[0]


async def test_a_repeated_input_is_a_cache_hit_that_costs_nothing_until_its_ttl_expires(
    mesh,
) -> None:
    m: InLoopMesh = await mesh(CACHED)
    engine = m.router.engines["t"]
    assert engine.caches is not None
    store = engine.caches.store("model")
    assert isinstance(store, MemoryCache)
    now = [1000.0]
    store.clock = lambda: now[0]  # the TTL runs on the test's clock, not the wall's
    first = await m.stub.Route(text_request("hello"))
    second = await m.stub.Route(text_request("hello"))
    other = await m.stub.Route(text_request("other"))
    assert output_text(first) == output_text(second) == "hello!"
    assert (_run(first).cache_hit, _run(second).cache_hit, _run(other).cache_hit) == (
        False,
        True,
        False,
    )
    assert second.execution.total_cost_usd == 0 and first.execution.total_cost_usd == pytest.approx(
        0.01
    )
    assert m.models["model"].calls == 2
    now[0] += 0.6
    expired = await m.stub.Route(text_request("hello"))
    assert not _run(expired).cache_hit and m.models["model"].calls == 3


async def test_no_cache_option_bypasses_the_cache(mesh) -> None:
    m: InLoopMesh = await mesh(CACHED)
    await m.stub.Route(text_request("hello"))
    request = text_request("hello")
    request.options.no_cache = True
    response = await m.stub.Route(request)
    assert not _run(response).cache_hit and m.models["model"].calls == 2


async def test_errors_are_never_cached(mesh) -> None:
    m: InLoopMesh = await mesh(CACHED.replace("flow: model", "flow: boom"))
    for _ in range(2):
        with pytest.raises(aio.AioRpcError):
            await m.stub.Route(text_request("hello"))
    assert m.models["boom"].calls == 2


async def test_a_shared_redis_cache_serves_hits_and_an_outage_degrades_to_no_cache(
    mesh, redis_server: RedisServer
) -> None:
    text = CACHED.replace(
        "flow: model", f"cache: {{backend: redis, url: '{redis_server.url}'}}\nflow: model"
    )
    first_replica: InLoopMesh = await mesh(text)
    second_replica: InLoopMesh = await mesh(text)
    await first_replica.stub.Route(text_request("shared"))
    hit = await second_replica.stub.Route(text_request("shared"))
    assert _run(hit).cache_hit, "the second router replica finds the first one's result in Redis"
    assert second_replica.models["model"].calls == 0
    redis_server.stop()
    during = await first_replica.stub.Route(text_request("while redis is down"))
    assert output_text(during) == "while redis is down!" and not _run(during).cache_hit
