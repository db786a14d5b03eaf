"""The one place that turns exceptions into gRPC statuses for every Tutti service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from grpc import aio

from tutti.errors import INTERNAL_MESSAGE, TuttiError

__all__ = ["guarded"]

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


def guarded(service_name: str, servicer: object) -> object:
    """`servicer`'s RPC methods wrapped once, at start-up, in the error mapping.

    TuttiError subclasses become their status code and anything else
    INTERNAL; the client never sees a traceback, the server log does. Done
    here rather than in a grpc.aio interceptor, which would run a coroutine
    chain and build a new handler on every call.
    """
    service = descriptor_pool.Default().FindServiceByName(service_name)
    methods: dict[str, Callable[..., Any]] = {}
    for method in service.methods:
        behavior = getattr(servicer, method.name)
        full = f"/{service_name}/{method.name}"
        if method.server_streaming:
            methods[method.name] = _stream_response(full, behavior)
        else:
            methods[method.name] = _unary_response(full, behavior)
    return SimpleNamespace(**methods)
