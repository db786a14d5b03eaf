"""One span per RPC on each side of a hop, the caller's context carried in W3C traceparent.

Tutti's own, in place of opentelemetry-instrumentation-grpc's interceptors
(py-spy on the router under load: their server interceptor alone took 15 % of
its samples; per call it runs a coroutine chain, builds a new handler, wraps
the context in a wrapt proxy and parses the peer address into attributes; the
client side built its attributes per call and read the status in a task of
its own). Here the server span is opened inside the method handlers built
once at start-up (tutti.interceptor), names and attributes are built once per
method, and the client span ends from the call's done callback. Span names
and attributes follow the same semantic conventions as theirs, less the peer
address and user agent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

__all__ = ["CallSpans", "end_call_span", "rpc_tracing", "traced_stream", "traced_unary"]

_STATUS_CODE = "rpc.grpc.status_code"
# Codes that mean the server failed; others (NOT_FOUND, INVALID_ARGUMENT...) leave the
# span's status unset, as the semantic conventions ask.
_SERVER_FAULTS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
# grpc's own plumbing: tracing a kubelet probing every few seconds would bury the requests.
_UNTRACED = ("/grpc.health.", "/grpc.reflection.")
_tracer = trace.get_tracer("tutti.rpc")


def _attributes(full_method: str) -> dict[str, str | int]:
    service, _, method = full_method.lstrip("/").partition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method, _STATUS_CODE: 0}


def _finish(span: trace.Span, code: grpc.StatusCode, details: str | None, server: bool) -> None:
    if code is not grpc.StatusCode.OK:
        span.set_attribute(_STATUS_CODE, code.value[0])
        if not server or code in _SERVER_FAULTS:
            span.set_status(Status(StatusCode.ERROR, f"{code.name}: {details or ''}"))
    span.end()


def _server_attributes(full_method: str) -> dict[str, str | int]:
    """A server span's attributes, with the name of the service that serves it.

    The resource names the service too, but some backends keep no resource
    attributes (Phoenix reads only its project name from it): on the server
    span, the service a call reached is part of the span itself.
    """
    attributes = _attributes(full_method)
    resource = getattr(trace.get_tracer_provider(), "resource", None)
    name = resource.attributes.get("service.name") if resource is not None else None
    if isinstance(name, str):
        attributes["tutti.service"] = name
    return attributes


def _server_span(full_method: str, attributes: dict[str, str | int], metadata: Any) -> trace.Span:
    carrier = {item.key: item.value for item in metadata} if metadata else {}
    parent = propagate.extract(carrier) if carrier else None
    return _tracer.start_span(full_method, parent, SpanKind.SERVER, attributes)


def traced_unary(
    full_method: str, run: Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]]
) -> Callable[..., Any]:
    """`run` (a unary-response handler) inside a server span that continues the caller's trace."""
    attributes = _server_attributes(full_method)

    async def traced(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        span = _server_span(full_method, attributes, context.invocation_metadata())
        token = otel_context.attach(trace.set_span_in_context(span))
        code = grpc.StatusCode.OK
        try:
            return await run(request, context)
        except BaseException:
            # The error mapping aborted with the code the client gets; anything else
            # (a cancelled call) ends as grpc ends it.
            code = context.code() or grpc.StatusCode.CANCELLED
            raise
        finally:
            otel_context.detach(token)
            _finish(span, _code(code), context.details(), server=True)

    return traced


def traced_stream(
    full_method: str, run: Callable[[Any, aio.ServicerContext[Any, Any]], AsyncIterator[Any]]
) -> Callable[..., Any]:
    """`run` (a stream-response handler) inside a server span that continues the caller's trace."""
    attributes = _server_attributes(full_method)

    async def traced(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        span = _server_span(full_method, attributes, context.invocation_metadata())
        token = otel_context.attach(trace.set_span_in_context(span))
        code = grpc.StatusCode.OK
        try:
            async for response in run(request, context):
                yield response
        except BaseException:
            code = context.code() or grpc.StatusCode.CANCELLED
            raise
        finally:
            otel_context.detach(token)
            _finish(span, _code(code), context.details(), server=True)

    return traced


class CallSpans:
    """The client side of one method's calls made without an interceptor.

    `start()` gives the call's client span and the metadata that carries its
    context, for the caller to pass to the stub; `end_call_span` ends it with
    the call's status. Cheaper than `rpc_tracing()`: any grpc.aio client
    interceptor sends a channel's calls down grpc's intercepted-call path, which
    measured in the benchmark mesh at about a fifth more CPU per request, on
    the caller and on the callee, even with no span recorded.
    Under a caller that is not sampled there is no span, only the metadata.
    """

    def __init__(self, full_method: str) -> None:
        self.name = full_method
        self.attributes = _attributes(full_method)

    def start(self) -> tuple[trace.Span | None, tuple[tuple[str, str], ...]]:
        span: trace.Span | None = None
        ctx = None
        parent = trace.get_current_span().get_span_context()
        if parent.trace_flags.sampled or not parent.is_valid:
            span = _tracer.start_span(self.name, kind=SpanKind.CLIENT, attributes=self.attributes)
            ctx = trace.set_span_in_context(span)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, ctx)
        return span, tuple(carrier.items())


def end_call_span(span: trace.Span | None, code: grpc.StatusCode, details: str | None) -> None:
    """End a CallSpans span (None: nothing to end) with the status the call ended with."""
    if span is not None:
        _finish(span, code, details, server=False)


def _code(code: Any) -> grpc.StatusCode:
    """The ServicerContext's code, which grpc keeps as a StatusCode or as its int value."""
    if isinstance(code, grpc.StatusCode):
        return code
    return next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)


class _ClientSpans:
    """The client side: a span per call, its context injected into the call's metadata.

    Under a caller that is not sampled no span is made, but the caller's
    context still travels, so that the callee does not sample either.
    The span ends from the call's done callback: the interceptor returns the
    call at once, so cancelling the call (a hedge's losing copy, a fan-out's
    late branch) ends the RPC and not just a task waiting on it.
    """

    def __init__(self) -> None:
        self._attributes: dict[str, dict[str, str | int]] = {}

    def _start(
        self, details: aio.ClientCallDetails
    ) -> tuple[aio.ClientCallDetails, trace.Span | None]:
        method = details.method
        name = method.decode() if isinstance(method, bytes) else method
        if name.startswith(_UNTRACED):
            return details, None
        span: trace.Span | None = None
        ctx = None
        parent = trace.get_current_span().get_span_context()
        if parent.trace_flags.sampled or not parent.is_valid:
            attributes = self._attributes.get(name)
            if attributes is None:
                attributes = self._attributes[name] = _attributes(name)
            span = _tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            ctx = trace.set_span_in_context(span)
        metadata = aio.Metadata(*tuple(details.metadata or ()))
        carrier: dict[str, str] = {}
        propagate.inject(carrier, ctx)
        for key, value in carrier.items():
            metadata.add(key, value)
        traced = aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )
        return traced, span

    async def _intercept(
        self, continuation: Any, details: Any, request: Any, streamed: bool = False
    ) -> Any:
        traced, span = self._start(details)
        if span is None:
            return await continuation(traced, request)
        try:
            call = await continuation(traced, request)
        except aio.AioRpcError as exc:
            _finish(span, exc.code(), exc.details(), server=False)
            raise
        except BaseException:
            span.end()
            raise
        ending = _ClientSpanEnd(span)
        call.add_done_callback(ending)
        # A stream's span ends as its reader sees the end, which may come before grpc runs
        # the call's done callbacks; the callback still ends a stream nobody read.
        return _responses(call, ending) if streamed else call


class _UnaryUnary(_ClientSpans, aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await self._intercept(continuation, details, request)


class _UnaryStream(_ClientSpans, aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await self._intercept(continuation, details, request, streamed=True)


class _StreamUnary(_ClientSpans, aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await self._intercept(continuation, details, requests)


class _StreamStream(_ClientSpans, aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await self._intercept(continuation, details, requests, streamed=True)


def rpc_tracing() -> list[aio.ClientInterceptor]:
    """One interceptor per kind of call: a grpc.aio channel files each under one kind only."""
    return [_UnaryUnary(), _UnaryStream(), _StreamUnary(), _StreamStream()]


class _ClientSpanEnd:
    """Ends a client span once, with the call's status, whichever end comes first."""

    def __init__(self, span: trace.Span) -> None:
        self.span: trace.Span | None = span

    def __call__(self, call: Any) -> None:
        span, self.span = self.span, None
        if span is None:
            return
        if call.cancelled():
            _finish(span, grpc.StatusCode.CANCELLED, "cancelled", server=False)
            return
        code, details = _now(call.code()), _now(call.details())
        _finish(span, code if code is not None else grpc.StatusCode.UNKNOWN, details, server=False)


async def _responses(call: Any, ending: _ClientSpanEnd) -> AsyncIterator[Any]:
    try:
        async for response in call:
            yield response
    finally:
        ending(call)


def _now(pending: Any) -> Any:
    """The value of a done call's `code()` or `details()`, read without a task.

    grpc.aio offers them only as coroutines, though a done call's status is
    already there and they finish without suspending; scheduling a task per
    call just to read them costs more than the span.
    """
    try:
        pending.send(None)
    except StopIteration as done:
        return done.value
    pending.close()
    return None
