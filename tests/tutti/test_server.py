"""tutti.server for real: health, reflection, error mapping, a drain within one process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from specialist_service import Backend, SpecialistConfig, StageServicer, build_backend, service
from tests.stages import Slow
from tutti.errors import INTERNAL_MESSAGE, NotFoundError, RequestError, TuttiError
from tutti.messages import pack
from tutti.server import Server, ServerOptions, Service
from tutti.v1 import payloads_pb2, router_pb2, router_pb2_grpc, stage_pb2, stage_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
STAGE_SERVICE = "tutti.v1.StageService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
# Upper bound for anything that should take milliseconds; only reached on failure.
PROMPTLY_S = 10.0


def python_config(factory: str, stage: str, **options: object) -> SpecialistConfig:
    data = {"backend": "python", "factory": factory, "options": options}
    return SpecialistConfig.from_mapping(data, stage=stage)


def invoke_request(text: str) -> stage_pb2.InvokeRequest:
    return stage_pb2.InvokeRequest(input=pack(payloads_pb2.Text(text=text)))


def output_text(response: stage_pb2.InvokeResponse) -> str:
    out = payloads_pb2.Text()
    assert response.output.Unpack(out)
    return out.text


@dataclass
class Running:
    server: Server
    channel: aio.Channel

    @property
    def health(self) -> health_pb2_grpc.HealthStub:
        return health_pb2_grpc.HealthStub(self.channel)

    @property
    def stage(self) -> stage_pb2_grpc.StageServiceStub:
        return stage_pb2_grpc.StageServiceStub(self.channel)


Start = Callable[[Sequence[Service], float], Awaitable[Running]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """Start a Server on 127.0.0.1:0 in this test's loop; stopped and disconnected afterwards."""
    running: list[Running] = []

    async def make(services: Sequence[Service], grace_s: float = 1.0) -> Running:
        server = Server(services, ServerOptions(host="127.0.0.1", port=0, grace_s=grace_s))
        await server.start()
        started = Running(server, aio.insecure_channel(server.address))
        running.append(started)
        return started

    yield make
    for started in running:
        await started.channel.close()
        await started.server.stop(0)


def stage_service(config: SpecialistConfig) -> tuple[Service, Backend]:
    """A StageService whose backend the test keeps, to see what its model is doing."""
    backend = build_backend(config)
    return (
        Service(
            name=STAGE_SERVICE,
            servicer=StageServicer(config, backend),
        ),
        backend,
    )


async def eventually(condition: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(PROMPTLY_S):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


# -- health --------------------------------------------------------------------


async def test_health_is_serving_for_the_server_and_each_service_once_started(start: Start) -> None:
    running = await start([service(python_config("tests.stages:echo", stage="echo"))])
    for name in ("", STAGE_SERVICE):
        checked = await running.health.Check(health_pb2.HealthCheckRequest(service=name))
        assert checked.status == SERVING, f"health of {name!r}"
    with pytest.raises(aio.AioRpcError) as caught:
        await running.health.Check(health_pb2.HealthCheckRequest(service="tutti.v1.NoSuchService"))
    assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_stop_turns_health_not_serving_while_in_flight_calls_finish(start: Start) -> None:
    """A load balancer watching health is told to go away before the drain, not after it."""
    stage, backend = stage_service(python_config("tests.stages:slow", stage="slow", delay_ms=500))
    model = backend.model  # type: ignore[attr-defined]
    assert isinstance(model, Slow)
    running = await start([stage], 5.0)

    watch = running.health.Watch(health_pb2.HealthCheckRequest(service=STAGE_SERVICE))
    assert (await watch.read()).status == SERVING
    in_flight = asyncio.ensure_future(running.stage.Invoke(invoke_request("in flight")))
    await eventually(lambda: model.in_flight == 1, "the slow call to reach the model")

    stopping = asyncio.create_task(running.server.stop(5.0))
    changed = await asyncio.wait_for(watch.read(), PROMPTLY_S)
    assert changed.status == NOT_SERVING
    assert not in_flight.done()
    watch.cancel()

    response = await asyncio.wait_for(in_flight, PROMPTLY_S)
    assert output_text(response) == "in flight"
    await asyncio.wait_for(stopping, PROMPTLY_S)
    assert (model.calls, model.cancelled) == (1, 0)

    async with aio.insecure_channel(running.server.address) as fresh:
        with pytest.raises(aio.AioRpcError) as caught:
            await health_pb2_grpc.HealthStub(fresh).Check(
                health_pb2.HealthCheckRequest(), timeout=PROMPTLY_S
            )
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE


# -- reflection ----------------------------------------------------------------


async def reflect(
    channel: aio.Channel, *requests: reflection_pb2.ServerReflectionRequest
) -> list[reflection_pb2.ServerReflectionResponse]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    call = stub.ServerReflectionInfo(timeout=PROMPTLY_S)
    answers = []
    for request in requests:
        await call.write(request)
        answers.append(await call.read())
    await call.done_writing()
    return answers


async def test_reflection_lists_the_stage_health_and_reflection_services(start: Start) -> None:
    running = await start([service(python_config("tests.stages:echo", stage="echo"))])
    [listed] = await reflect(
        running.channel, reflection_pb2.ServerReflectionRequest(list_services="")
    )
    names = {s.name for s in listed.list_services_response.service}
    assert names == {
        STAGE_SERVICE,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


async def test_reflection_serves_the_stage_service_descriptor_from_its_own_proto(
    start: Start,
) -> None:
    """What grpcurl needs to call Invoke without the .proto files at hand."""
    running = await start([service(python_config("tests.stages:echo", stage="echo"))])
    [found] = await reflect(
        running.channel,
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=STAGE_SERVICE),
    )
    assert found.WhichOneof("message_response") == "file_descriptor_response"
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in found.file_descriptor_response.file_descriptor_proto
    ]
    stage_file = next(f for f in files if f.name == "tutti/v1/stage.proto")
    assert stage_file.package == "tutti.v1"
    [stage_service_proto] = stage_file.service
    assert [m.name for m in stage_service_proto.method] == ["Invoke", "InvokeStream", "Describe"]


# -- errors --------------------------------------------------------------------


async def test_model_exception_is_internal_without_its_text_and_the_server_keeps_serving(
    start: Start,
) -> None:
    failing = service(
        python_config("tests.stages:failing", stage="failing", message="secret model state")
    )
    running = await start([failing])
    for _ in range(2):
        with pytest.raises(aio.AioRpcError) as caught:
            await running.stage.Invoke(invoke_request("hi"), timeout=PROMPTLY_S)
        assert caught.value.code() is grpc.StatusCode.INTERNAL
        details = caught.value.details() or ""
        assert details == INTERNAL_MESSAGE
        assert "secret model state" not in details and "Traceback" not in details
    described = await running.stage.Describe(stage_pb2.DescribeRequest(), timeout=PROMPTLY_S)
    assert described.stage == "failing"
    checked = await running.health.Check(health_pb2.HealthCheckRequest(), timeout=PROMPTLY_S)
    assert checked.status == SERVING


class Raiser(router_pb2_grpc.RouterServiceServicer):
    """A router whose unary Route raises `error`, and whose RouteStream answers once, then raises it."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def Route(
        self, request: router_pb2.RouteRequest, context: aio.ServicerContext[Any, Any]
    ) -> router_pb2.RouteResponse:
        raise self.error

    async def RouteStream(
        self,
        request_iterator: AsyncIterator[router_pb2.RouteStreamRequest],
        context: aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[router_pb2.RouteStreamResponse]:
        yield router_pb2.RouteStreamResponse(request_id="first")
        raise self.error


@pytest.mark.parametrize(
    ("error", "code", "details"),
    [
        (NotFoundError("no composition named 'nope'"), grpc.StatusCode.NOT_FOUND,
         "no composition named 'nope'"),
        (RequestError("input.text", "must not be empty"), grpc.StatusCode.INVALID_ARGUMENT,
         "input.text: must not be empty"),
        (TuttiError("secret internal state"), grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE),
        (ValueError("secret internal state"), grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE),
    ],
    ids=["not-found", "request-error", "internal-tutti-error", "unexpected-error"],
)  # fmt: skip
async def test_errors_map_to_their_status_on_unary_and_streaming_calls(
    start: Start, error: Exception, code: grpc.StatusCode, details: str
) -> None:
    raiser = Raiser(error)
    service = Service("tutti.v1.RouterService", raiser)
    running = await start([service])
    stub = router_pb2_grpc.RouterServiceStub(running.channel)
    with pytest.raises(aio.AioRpcError) as caught:
        await stub.Route(router_pb2.RouteRequest(), timeout=PROMPTLY_S)
    assert (caught.value.code(), caught.value.details()) == (code, details)

    received: list[str] = []
    with pytest.raises(aio.AioRpcError) as caught:
        async for item in stub.RouteStream(
            iter([router_pb2.RouteStreamRequest()]), timeout=PROMPTLY_S
        ):
            received.append(item.request_id)
    assert received == ["first"]
    assert (caught.value.code(), caught.value.details()) == (code, details)


# -- a real process ------------------------------------------------------------


async def test_a_port_already_served_cannot_be_bound_again(start: Start) -> None:
    """Otherwise two services on one fixed port would each get a share of its calls."""
    first = await start([service(python_config("tests.stages:echo", stage="first"))])
    second = Server(
        [service(python_config("tests.stages:echo", stage="second"))],
        ServerOptions(host="127.0.0.1", port=first.server.port),
    )
    try:
        with pytest.raises(OSError, match="cannot bind"):
            await second.start()
    finally:
        await second.stop(0)
