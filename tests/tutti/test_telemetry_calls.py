"""RPC spans on both sides of a real hop: the server span continues the caller's context, a call's client span parents it, and an unsampled caller records nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc import aio
from opentelemetry import context, trace

from tutti.errors import NotFoundError
from tutti.server import Server, Service
from tutti.telemetry import CallSpans, end_call_span
from tutti.v1 import payloads_pb2, stage_pb2, stage_pb2_grpc

INVOKE = "/tutti.v1.StageService/Invoke"
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
CALLER_SPAN = 0xB7AD6B7169203331


class Stage(stage_pb2_grpc.StageServiceServicer):
    """Echoes, or refuses a request whose text is "missing" (NOT_FOUND, as the error mapping says)."""

    async def Invoke(
        self, request: stage_pb2.InvokeRequest, context: aio.ServicerContext[Any, Any]
    ) -> stage_pb2.InvokeResponse:
        text = payloads_pb2.Text()
        request.input.Unpack(text)
        if text.text == "missing":
            raise NotFoundError("no such thing")
        return stage_pb2.InvokeResponse(output=request.input)


@pytest.fixture
async def stub(spans: Any) -> AsyncIterator[stage_pb2_grpc.StageServiceStub]:
    """A stage served on 127.0.0.1:0 after the tracer provider is in place, and a plain channel."""
    server = Server([Service("tutti.v1.StageService", Stage())])
    port = await server.start()
    async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield stage_pb2_grpc.StageServiceStub(channel)
    await server.stop(0)


def _request(text: str) -> stage_pb2.InvokeRequest:
    request = stage_pb2.InvokeRequest()
    request.input.Pack(payloads_pb2.Text(text=text))
    return request


async def _call(stub: stage_pb2_grpc.StageServiceStub, text: str) -> grpc.StatusCode:
    span, metadata = CallSpans(INVOKE).start()
    try:
        await stub.Invoke(_request(text), metadata=metadata, timeout=10)
    except aio.AioRpcError as exc:
        end_call_span(span, exc.code(), exc.details())
        return exc.code()
    end_call_span(span, grpc.StatusCode.OK, None)
    return grpc.StatusCode.OK


def _under_caller(sampled: bool) -> object:
    flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if sampled else trace.TraceFlags.DEFAULT)
    caller = trace.SpanContext(TRACE_ID, CALLER_SPAN, is_remote=True, trace_flags=flags)
    return context.attach(trace.set_span_in_context(trace.NonRecordingSpan(caller)))


async def test_a_call_and_its_service_are_one_trace_under_the_caller(
    spans: Any, stub: stage_pb2_grpc.StageServiceStub
) -> None:
    token = _under_caller(sampled=True)
    try:
        assert await _call(stub, "hello") is grpc.StatusCode.OK
    finally:
        context.detach(token)  # type: ignore[arg-type]
    finished = spans.get_finished_spans()
    (client,) = [s for s in finished if s.kind is trace.SpanKind.CLIENT]
    (server,) = [s for s in finished if s.kind is trace.SpanKind.SERVER]
    assert client.name == server.name == INVOKE
    assert client.context.trace_id == server.context.trace_id == TRACE_ID
    assert client.parent.span_id == CALLER_SPAN
    assert server.parent.span_id == client.context.span_id and server.parent.is_remote
    for span in (client, server):
        assert span.attributes["rpc.service"] == "tutti.v1.StageService"
        assert span.attributes["rpc.method"] == "Invoke"
        assert span.attributes["rpc.grpc.status_code"] == 0


async def test_a_refused_call_records_its_code_on_both_sides(
    spans: Any, stub: stage_pb2_grpc.StageServiceStub
) -> None:
    assert await _call(stub, "missing") is grpc.StatusCode.NOT_FOUND
    by_kind = {s.kind: s for s in spans.get_finished_spans()}
    client, server = by_kind[trace.SpanKind.CLIENT], by_kind[trace.SpanKind.SERVER]
    code = grpc.StatusCode.NOT_FOUND.value[0]
    assert client.attributes["rpc.grpc.status_code"] == server.attributes["rpc.grpc.status_code"]
    assert server.attributes["rpc.grpc.status_code"] == code
    # The caller failed; the server did not (semantic conventions: NOT_FOUND is no fault).
    assert client.status.status_code is trace.StatusCode.ERROR
    assert server.status.status_code is trace.StatusCode.UNSET


async def test_under_an_unsampled_caller_no_span_is_recorded_on_either_side(
    spans: Any, stub: stage_pb2_grpc.StageServiceStub
) -> None:
    token = _under_caller(sampled=False)
    try:
        span, metadata = CallSpans(INVOKE).start()
        assert span is None
        assert dict(metadata)["traceparent"].endswith("-00")
        await stub.Invoke(_request("hello"), metadata=metadata, timeout=10)
    finally:
        context.detach(token)  # type: ignore[arg-type]
    assert spans.get_finished_spans() == ()
