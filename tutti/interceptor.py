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

__all__ = ["Gate", "guarded"]

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


class Gate:
    """What every call of a service passes before its method runs: the caller's credentials,
    and a count of the calls in flight (the queue depth a router reports)."""

    def __init__(self, authorize: Callable[[Any], None] | None = None) -> None:
        self.authorize = authorize
        self.in_flight = 0


def _unary_response(
    method: str, behavior: Callable[..., Awaitable[Any]], gate: Gate
) -> Callable[..., Any]:
    authorize = gate.authorize

    async def run(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        gate.in_flight += 1
        try:
            if authorize is not None:
                authorize(context.invocation_metadata())
            return await behavior(request, context)
        except aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - this is the one place that maps them all
            await _abort(context, method, exc)
        finally:
            gate.in_flight -= 1

    return run


def _stream_response(method: str, behavior: _AsyncStreamBehavior, gate: Gate) -> Callable[..., Any]:
    authorize = gate.authorize

    async def run(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        gate.in_flight += 1
        try:
            if authorize is not None:
                authorize(context.invocation_metadata())
            async for response in behavior(request, context):
                yield response
        except aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001
            await _abort(context, method, exc)
        finally:
            gate.in_flight -= 1

    return run


def guarded(service_name: str, servicer: object, gate: Gate | None = None) -> object:
    """`servicer`'s RPC methods wrapped once, at start-up, in the error mapping and `gate`.

    TuttiError subclasses become their status code and anything else
    INTERNAL; the client never sees a traceback, the server log does. Done
    here rather than in a grpc.aio interceptor, which would run a coroutine
    chain and build a new handler on every call.
    """
    gate = gate or Gate()
    service = descriptor_pool.Default().FindServiceByName(service_name)
    methods: dict[str, Callable[..., Any]] = {}
    for method in service.methods:
        behavior = getattr(servicer, method.name)
        full = f"/{service_name}/{method.name}"
        if method.server_streaming:
            methods[method.name] = _stream_response(full, behavior, gate)
        else:
            methods[method.name] = _unary_response(full, behavior, gate)
    return SimpleNamespace(**methods)
