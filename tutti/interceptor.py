"""The one server interceptor that turns exceptions into gRPC statuses."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import grpc
from grpc import aio

from tutti.errors import INTERNAL_MESSAGE, TuttiError

__all__ = ["ErrorInterceptor"]

log = logging.getLogger("tutti.errors")

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


def _unary_response(method: str, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    async def run(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await behavior(request, context)
        except aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - this is the one place that maps them all
            await _abort(context, method, exc)

    return run


def _stream_response(method: str, behavior: _AsyncStreamBehavior) -> Callable[..., Any]:
    async def run(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        try:
            async for response in behavior(request, context):
                yield response
        except aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001
            await _abort(context, method, exc)

    return run


class ErrorInterceptor(aio.ServerInterceptor):
    """Maps TuttiError subclasses to their status code and anything else to INTERNAL.

    The client never sees a traceback; the server log does.
    """

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        # Health and reflection are grpc's own and raise nothing of ours.
        if handler is None or method.startswith("/grpc."):
            return handler
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _unary_response(method, handler.unary_unary),
                handler.request_deserializer,
                handler.response_serializer,
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                _unary_response(method, handler.stream_unary),
                handler.request_deserializer,
                handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _stream_response(method, cast(_AsyncStreamBehavior, handler.unary_stream)),
                handler.request_deserializer,
                handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            _stream_response(method, cast(_AsyncStreamBehavior, handler.stream_stream)),
            handler.request_deserializer,
            handler.response_serializer,
        )
