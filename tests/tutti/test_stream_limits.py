"""Idle request streams cannot starve a service: streams count against a limit of their own,
health checks against none, and a stream that sends nothing is closed after a while."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from router_service import Router
from router_service import service as router_service
from tests.conftest import InLoopMesh
from tests.router_service.test_flow_nodes import output_text, text_request
from tests.router_service.waiting import until
from tests.tutti.test_undecodable import COMPOSITION
from tutti.server import Server, ServerOptions
from tutti.v1 import router_pb2, router_pb2_grpc

MAX_STREAMS = 8
IDLE = 200  # streams held open, sending nothing: far more than the limit


async def _router(m: InLoopMesh, options: ServerOptions) -> Server:
    (path,) = m.router.sources
    endpoints = {name: s.address for name, s in m.servers.items() if name != "router"}
    router = await Router.load([path], endpoints)
    server = Server([router_service(router)], options)
    await server.start()
    return server


async def test_many_idle_streams_leave_health_and_calls_answered(mesh) -> None:  # type: ignore[no-untyped-def]
    m: InLoopMesh = await mesh(COMPOSITION)
    server = await _router(m, ServerOptions(max_in_flight=16, max_streams=MAX_STREAMS))
    never = asyncio.Event()

    async def nothing() -> AsyncIterator[router_pb2.RouteStreamRequest]:
        await never.wait()
        yield router_pb2.RouteStreamRequest()  # pragma: no cover - never reached

    try:
        async with aio.insecure_channel(server.address) as channel:
            stub = router_pb2_grpc.RouterServiceStub(channel)
            streams = [stub.RouteStream(nothing()) for _ in range(IDLE)]
            gate = server.services[0].gate
            assert gate is not None
            # Every stream is either held by the service or refused at once.
            await until(
                lambda: (
                    gate.streams == MAX_STREAMS
                    and sum(s.done() for s in streams) == IDLE - MAX_STREAMS
                )
            )
            codes = {await s.code() for s in streams if s.done()}
            assert codes == {grpc.StatusCode.RESOURCE_EXHAUSTED}
            health = health_pb2_grpc.HealthStub(channel)
            checked = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert checked.status == health_pb2.HealthCheckResponse.SERVING
            answer = await stub.Route(text_request("through"), timeout=5)
            assert output_text(answer) == "through"
            for stream in streams:
                stream.cancel()
    finally:
        never.set()
        await server.stop(0)


async def test_a_stream_that_sends_nothing_is_closed_after_its_idle_time(mesh) -> None:  # type: ignore[no-untyped-def]
    m: InLoopMesh = await mesh(COMPOSITION)
    server = await _router(m, ServerOptions(stream_idle_s=0.3))
    never = asyncio.Event()

    async def one_then_nothing() -> AsyncIterator[router_pb2.RouteStreamRequest]:
        yield router_pb2.RouteStreamRequest(request_id="1", request=text_request("first"))
        await never.wait()

    try:
        async with aio.insecure_channel(server.address) as channel:
            stub = router_pb2_grpc.RouterServiceStub(channel)
            call = stub.RouteStream(one_then_nothing())
            answers = [a async for a in call]  # ends on its own once the stream idles
            assert [a.request_id for a in answers] == ["1"]
            assert output_text(answers[0].response) == "first"
            assert await call.code() is grpc.StatusCode.OK
    finally:
        never.set()
        await server.stop(0)
