"""StageClient over gRPC: the generated typed stubs on one channel per stage target."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from typing import Any, TypeVar

import grpc
from grpc import aio

from router_service.engine._client import StageClient, StageClientError
from router_service.plan import RetryPolicy, StageSpec
from tutti.channels import ChannelPool
from tutti.telemetry import CallSpans, end_call_span, tracing_enabled
from tutti.v1 import merger_pb2, merger_pb2_grpc, stage_pb2, stage_pb2_grpc

__all__ = ["GrpcStageClient", "grpc_clients", "service_config", "stage_channel"]


def service_config(service: str, methods: str | tuple[str, ...], retry: RetryPolicy | None) -> str:
    """The channel's service config: round robin over every address, and the retry policy
    for `methods` (gRPC retries a stream only until its first message has arrived)."""
    config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    names = (methods,) if isinstance(methods, str) else methods
    if retry is not None:
        config["methodConfig"] = [
            {
                "name": [{"service": service, "method": method} for method in names],
                "retryPolicy": {
                    "maxAttempts": retry.attempts,
                    "initialBackoff": f"{retry.backoff_ms / 1000.0:.3f}s",
                    "maxBackoff": f"{retry.max_backoff_ms / 1000.0:.3f}s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": list(retry.codes),
                },
            }
        ]
    return json.dumps(config, sort_keys=True)


def stage_channel(channels: ChannelPool, spec: StageSpec) -> aio.Channel:
    """The one channel to a stage's target, with its retry policy: its Describe and its
    Invoke (or a merger's Merge) share it."""
    service, methods = (
        ("tutti.v1.MergerService", ("Merge",))
        if spec.is_merger
        else ("tutti.v1.StageService", ("Invoke", "InvokeStream"))
    )
    return channels.get(spec.endpoint, service_config(service, methods, spec.retry))


def _neutral(exc: aio.AioRpcError) -> StageClientError:
    return StageClientError(exc.code(), exc.details() or "")


T = TypeVar("T")


async def _answer(call: aio.UnaryUnaryCall[Any, T], span: Any = None) -> T:
    """The unary call's answer; its failure as a StageClientError. Ends `span`, if given."""
    try:
        answer = await call
    except aio.AioRpcError as exc:
        end_call_span(span, exc.code(), exc.details())
        raise _neutral(exc) from None
    except BaseException:
        end_call_span(span, grpc.StatusCode.CANCELLED, "cancelled")
        raise
    finally:
        # A caller that was cancelled (a hedge's losing copy) ends the RPC, not just its wait.
        call.cancel()
    end_call_span(span, grpc.StatusCode.OK, None)
    return answer


def _spans(method: str) -> CallSpans | None:
    """The client spans of `method`'s calls when tracing is on. The context travels in each
    call's metadata rather than through a channel interceptor, which would send every call
    down grpc's slower intercepted-call path."""
    return CallSpans(method) if tracing_enabled() else None


class GrpcStageClient:
    """One stage's calls through its channel; an AioRpcError becomes a StageClientError."""

    def __init__(self, channel: aio.Channel) -> None:
        self._stage = stage_pb2_grpc.StageServiceStub(channel)
        self._merger = merger_pb2_grpc.MergerServiceStub(channel)
        self._invoke_spans = _spans("/tutti.v1.StageService/Invoke")
        self._stream_spans = _spans("/tutti.v1.StageService/InvokeStream")
        self._merge_spans = _spans("/tutti.v1.MergerService/Merge")

    async def invoke(
        self, request: stage_pb2.InvokeRequest, timeout: float | None
    ) -> stage_pb2.InvokeResponse:
        if self._invoke_spans is None:
            return await _answer(self._stage.Invoke(request, timeout=timeout))
        span, metadata = self._invoke_spans.start()
        return await _answer(self._stage.Invoke(request, timeout=timeout, metadata=metadata), span)

    async def invoke_stream(
        self, request: stage_pb2.InvokeStreamRequest, timeout: float | None
    ) -> AsyncGenerator[stage_pb2.InvokeStreamResponse, None]:
        span, metadata = (None, None) if self._stream_spans is None else self._stream_spans.start()
        call = self._stage.InvokeStream(request, timeout=timeout, metadata=metadata)
        code: grpc.StatusCode = grpc.StatusCode.CANCELLED
        details: str | None = "cancelled"
        try:
            async for event in call:
                yield event
            code, details = grpc.StatusCode.OK, None
        except aio.AioRpcError as exc:
            code, details = exc.code(), exc.details()
            raise _neutral(exc) from None
        finally:
            call.cancel()
            end_call_span(span, code, details)

    async def merge(
        self, request: merger_pb2.MergeRequest, timeout: float | None
    ) -> merger_pb2.MergeResponse:
        if self._merge_spans is None:
            return await _answer(self._merger.Merge(request, timeout=timeout))
        span, metadata = self._merge_spans.start()
        return await _answer(self._merger.Merge(request, timeout=timeout, metadata=metadata), span)

    async def describe(self, timeout: float) -> stage_pb2.DescribeResponse:
        """The stage's contract and model card, waiting for the channel to be ready."""
        try:
            return await self._stage.Describe(
                stage_pb2.DescribeRequest(), timeout=timeout, wait_for_ready=True
            )
        except aio.AioRpcError as exc:
            raise _neutral(exc) from None


def grpc_clients(channels: ChannelPool) -> Callable[[StageSpec], StageClient]:
    """A GrpcStageClient for each stage, on the pool's channel to its target."""

    def connect(spec: StageSpec) -> StageClient:
        return GrpcStageClient(stage_channel(channels, spec))

    return connect
