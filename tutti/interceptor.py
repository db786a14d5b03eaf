"""The one place that turns exceptions into gRPC statuses, and admits calls to a service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor
from grpc import aio

from tutti.decoding import Undecodable, method_handlers
from tutti.errors import INTERNAL_MESSAGE, OverloadedError, TuttiError, check_answer_size
from tutti.telemetry import traced_stream, traced_unary, tracing_enabled

__all__ = ["Gate", "guarded_handlers", "takes_undecodable"]

log = logging.getLogger("tutti.errors")


def takes_undecodable(method: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a stream-request method as answering Undecodable items itself (one bad item
    then costs only that item); other methods' streams fail with INVALID_ARGUMENT."""
    method.takes_undecodable = True  # type: ignore[attr-defined]
    return method


# grpc's stubs describe the sync server, where a streaming behaviour returns an
# Iterator; on a grpc.aio server it is an async generator function.
_AsyncStreamBehavior = Callable[..., AsyncIterator[Any]]


async def _abort(context: aio.ServicerContext[Any, Any], method: str, exc: Exception) -> None:
    if isinstance(exc, TuttiError):
        if exc.code is grpc.StatusCode.INTERNAL:
            log.error("%s failed: %s", method, exc, exc_info=exc)
        await context.abort(exc.code, exc.public_message)
    log.error("%s failed with an unexpected error", method, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)


class Gate:
    """What every call of a service passes before its method runs: the caller's credentials,
    and the service's limits. `in_flight` counts the calls being served (the queue depth a
    router reports) and at most `limit` run at once; a call that streams requests counts
    in `streams` instead, up to `stream_limit`, and its stream ends once no request came
    for `stream_idle_s`. Health and reflection pass no gate: a busy or flooded service
    still answers its probes."""

    def __init__(
        self,
        authorize: Callable[[Any], None] | None = None,
        limit: int = 0,
        stream_limit: int = 0,
        stream_idle_s: float = 0.0,
        max_answer_bytes: int = 0,
    ) -> None:
        self.authorize = authorize
        # Answers over it are refused by the service (RESOURCE_EXHAUSTED), not left to grpc,
        # which fails to send them with a logged traceback.
        self.max_answer_bytes = max_answer_bytes
        self.in_flight = 0
        self.streams = 0
        self.limit = limit  # 0: no limit
        self.stream_limit = stream_limit
        self.stream_idle_s = stream_idle_s

    def admit(self, streaming_requests: bool) -> None:
        """Count a call in, or refuse it at once (RESOURCE_EXHAUSTED) past its limit."""
        if streaming_requests:
            if self.stream_limit and self.streams >= self.stream_limit:
                raise OverloadedError(f"{self.streams} request streams are open, the most allowed")
            self.streams += 1
        else:
            if self.limit and self.in_flight >= self.limit:
                raise OverloadedError(f"{self.in_flight} calls in flight, the most allowed")
            self.in_flight += 1

    def release(self, streaming_requests: bool) -> None:
        if streaming_requests:
            self.streams -= 1
        else:
            self.in_flight -= 1


def _unary_response(
    method: str, behavior: Callable[..., Awaitable[Any]], gate: Gate, streaming: bool = False
) -> Callable[..., Any]:
    authorize = gate.authorize

    async def run(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        try:
            gate.admit(streaming)
        except OverloadedError as exc:
            await context.abort(exc.code, exc.public_message)
        try:
            if authorize is not None:
                authorize(context.invocation_metadata())
            if isinstance(request, Undecodable):
                raise request.error()
            response = await behavior(request, context)
            check_answer_size(response, gate.max_answer_bytes)
            return response
        except aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - this is the one place that maps them all
            await _abort(context, method, exc)
        finally:
            gate.release(streaming)

    return run


def _stream_response(
    method: str, behavior: _AsyncStreamBehavior, gate: Gate, streaming: bool = False
) -> Callable[..., Any]:
    authorize = gate.authorize

    async def run(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        try:
            gate.admit(streaming)
        except OverloadedError as exc:
            await context.abort(exc.code, exc.public_message)
        try:
            if authorize is not None:
                authorize(context.invocation_metadata())
            if isinstance(request, Undecodable):
                raise request.error()
            async for response in behavior(request, context):
                check_answer_size(response, gate.max_answer_bytes)
                yield response
        except aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001
            await _abort(context, method, exc)
        finally:
            gate.release(streaming)

    return run


async def _requests(
    requests: AsyncIterator[Any], refuse_undecodable: bool, idle_s: float
) -> AsyncIterator[Any]:
    """A stream of requests that ends once none came for `idle_s` (0: never), and that
    refuses an undecodable item unless its method takes them."""
    items = aiter(requests)
    while True:
        try:
            # A timeout scope, not wait_for: no task per request read.
            async with asyncio.timeout(idle_s or None):
                request = await anext(items)
        except StopAsyncIteration:
            return
        except TimeoutError:
            log.info("closing a request stream idle for %.0f s", idle_s)
            return
        if refuse_undecodable and isinstance(request, Undecodable):
            raise request.error()
        yield request


def _streamed_requests(behavior: Callable[..., Any], gate: Gate) -> Callable[..., Any]:
    """A stream-request method's behaviour over the guarded stream of its requests."""
    refuse = not getattr(behavior, "takes_undecodable", False)
    return lambda requests, context: behavior(
        _requests(requests, refuse, gate.stream_idle_s), context
    )


def guarded_handlers(
    service_name: str, servicer: object, gate: Gate | None = None
) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    """The method handlers of `servicer`, built once at start-up from the service's descriptor.

    Each method is wrapped in the error mapping and `gate`: TuttiError subclasses
    become their status code and anything else INTERNAL; the client never sees
    a traceback, the server log does. Request bytes that do not decode become
    INVALID_ARGUMENT, before the method runs (see Undecodable). Done here
    rather than in a grpc.aio interceptor, which would run a coroutine chain
    and build a new handler on every call. With a tracer provider installed,
    each call also gets a server span around all of that, so that it records
    the status the client gets.
    """
    guard = gate or Gate()
    tracing = tracing_enabled()

    def wrap(
        method: MethodDescriptor, full: str, behavior: Callable[..., Any]
    ) -> Callable[..., Any]:
        if method.client_streaming:
            behavior = _streamed_requests(behavior, guard)
        if method.server_streaming:
            streamed = _stream_response(full, behavior, guard, method.client_streaming)
            return traced_stream(full, streamed) if tracing else streamed
        unary = _unary_response(full, behavior, guard, method.client_streaming)
        return traced_unary(full, unary) if tracing else unary

    return method_handlers(service_name, servicer, wrap)
