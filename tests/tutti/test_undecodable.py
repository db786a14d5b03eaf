"""Request bytes that do not decode get INVALID_ARGUMENT with a short message, on every RPC of
every service (health and reflection included), at most one log line per method for a burst,
and the service goes on answering."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.conftest import InLoopMesh
from tests.router_service.test_flow_nodes import output_text, text_request
from tutti.v1 import router_pb2

GARBAGE = b"\xff\xff\xff"
COMPOSITION = """\
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  echo:
    endpoint: "127.0.0.1:1"
    input: tutti.v1.Text
    output: tutti.v1.Text
    serve: {backend: python, factory: "tests.stages:echo"}
  # Served beside the flow, so that the merger's RPCs are probed too.
  merge: {endpoint: "127.0.0.1:1", kind: merger}
flow: echo
"""
SERVICES = {
    "router": ["tutti.v1.RouterService"],
    "echo": ["tutti.v1.StageService"],
    "merge": ["tutti.v1.MergerService"],
}
FOREIGN = ["grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"]


async def _garbage_call(channel: aio.Channel, service: str, method: str) -> grpc.RpcError:
    """Send GARBAGE as the one request of `service`/`method`; the error it is answered with."""
    found = descriptor_pool.Default().FindServiceByName(service).FindMethodByName(method)
    path = f"/{service}/{method}"
    try:
        if found.client_streaming:

            async def one() -> AsyncIterator[bytes]:
                yield GARBAGE

            async for _ in channel.stream_stream(path)(one(), timeout=5):
                pass
        elif found.server_streaming:
            async for _ in channel.unary_stream(path)(GARBAGE, timeout=5):
                pass
        else:
            await channel.unary_unary(path)(GARBAGE, timeout=5)
    except aio.AioRpcError as exc:
        return exc
    raise AssertionError(f"{path} answered bytes that are no message")


@pytest.fixture
async def served(mesh) -> InLoopMesh:  # type: ignore[no-untyped-def]
    return await mesh(COMPOSITION)


@pytest.mark.parametrize("server", sorted(SERVICES))
async def test_every_rpc_refuses_bytes_that_are_no_message_as_invalid_argument(
    served: InLoopMesh, server: str, caplog: pytest.LogCaptureFixture
) -> None:
    address = served.servers[server].address
    async with aio.insecure_channel(address) as channel:
        for service in [*SERVICES[server], *FOREIGN]:
            for method in descriptor_pool.Default().FindServiceByName(service).methods:
                if service == "tutti.v1.RouterService" and method.name == "RouteStream":
                    continue  # answers the bad frame inside the stream: the test below
                error = await _garbage_call(channel, service, method.name)
                assert error.code() is grpc.StatusCode.INVALID_ARGUMENT, (method.name, error)
                details = error.details() or ""
                assert "not a valid" in details and len(details) < 200, details
                assert "Traceback" not in details and "DecodeError" not in details
        health = health_pb2_grpc.HealthStub(channel)
        checked = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert checked.status == health_pb2.HealthCheckResponse.SERVING
    assert "Traceback" not in caplog.text


async def test_a_burst_of_bad_requests_is_one_log_line(
    served: InLoopMesh, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tutti.errors")
    async with aio.insecure_channel(served.router_address) as channel:
        for _ in range(20):
            await _garbage_call(channel, "tutti.v1.RouterService", "Route")
    lines = [r for r in caplog.records if "RouterService/Route" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    reply = await served.stub.Route(text_request("still here"), timeout=5)
    assert output_text(reply) == "still here"


async def test_one_corrupt_frame_in_a_route_stream_costs_only_that_request(
    served: InLoopMesh,
) -> None:
    frames = [
        router_pb2.RouteStreamRequest(request_id=str(i), request=text_request(f"ticket {i}"))
        for i in range(10)
    ]
    raw = [f.SerializeToString() for f in frames]
    raw.insert(5, GARBAGE)

    async def feed() -> AsyncIterator[bytes]:
        for frame in raw:
            yield frame

    async with aio.insecure_channel(served.router_address) as channel:
        stream = channel.stream_stream(
            "/tutti.v1.RouterService/RouteStream",
            response_deserializer=router_pb2.RouteStreamResponse.FromString,
        )
        answers = [a async for a in stream(feed(), timeout=10)]
    answered = {a.request_id: a for a in answers if a.request_id}
    assert sorted(answered) == sorted(f.request_id for f in frames)
    assert output_text(answered["7"].response) == "ticket 7"
    refused = [a for a in answers if not a.request_id]
    assert len(refused) == 1
    assert refused[0].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "not a valid tutti.v1.RouteStreamRequest" in refused[0].error.message
